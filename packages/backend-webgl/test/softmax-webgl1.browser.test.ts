// Masked softmax / log-softmax on WebGL 1 (GLSL ES 1.00: constant loop bounds, no integer `%`,
// tfjs's own isnan/INFINITY shims): core's softmax suite, structural cases. Half-float textures
// are not run through the suite: SwiftShader stores ±Inf as NaN in them, so the suite's ±Inf
// logits would reach the kernels as NaN (README "Accuracy").
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { defineSoftmaxSuite } from '@masked-ops/core/testing';
import { env, getKernel, registerKernel, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { webglSoftmaxKernelConfigs } from '../src/kernels/softmax.js';
import { webgl } from './helpers.js';

// Registered here too until register_all_kernels.ts lists them (then this is a no-op).
for (const c of webglSoftmaxKernelConfigs) {
  if (getKernel(c.kernelName, 'webgl') === undefined) registerKernel(c);
}

beforeAll(async () => {
  env().set('WEBGL_VERSION', 1);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 1', () => {
  it('has a WebGL 1 context', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(1);
    expect(webgl().gpgpu.gl).not.toBeInstanceOf(WebGL2RenderingContext);
  });
});

defineSoftmaxSuite({ describe, it }, { path: 'fused', structuralOnly: true, timeout: 60_000 });
