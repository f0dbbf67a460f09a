// End-to-end layer checks on tfjs's webgl backend in headless Chromium (WebGL 2 via SwiftShader),
// with the fused GLSL kernels of @masked-ops/backend-webgl (the suite asserts they are registered).
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-layers';
import '@masked-ops/backend-webgl';
import { env } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';

describe('webgl environment', () => {
  it('renders float32 textures (the float32 tolerance applies)', async () => {
    const { setBackend } = await import('@tensorflow/tfjs-core');
    expect(await setBackend('webgl')).toBe(true);
    expect(env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(true);
  });
});

const factors: string[] = [];
defineBackendSuite({
  backend: 'webgl',
  fused: true,
  onFit: (kind, f, reducer) => factors.push(`${reducer} ${kind} ${f.toExponential(2)}x`),
  onSoftmaxFit: (f) => factors.push(`softmax embedding ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`webgl: loss fell by ${factors.join(', ')}`));
