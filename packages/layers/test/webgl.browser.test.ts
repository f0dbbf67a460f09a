// End-to-end layer checks on tfjs's webgl backend in headless Chromium (WebGL 2 via SwiftShader).
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-layers';
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
  fused: false,
  onFit: (kind, f) => factors.push(`${kind} ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`webgl: loss fell by ${factors.join(', ')}`));
