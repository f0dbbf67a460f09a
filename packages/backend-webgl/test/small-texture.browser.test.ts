// WebGL 2 with WEBGL_MAX_TEXTURE_SIZE 400: every tensor with a dim (or flat size) above 400 gets
// tfjs's squarified texture layout, including x of the long cases, our flat partial sums and
// outputs. 400 * 400 still holds the largest case (140,000 values).
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { dispose, env, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineExtraCases, webgl } from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_MAX_TEXTURE_SIZE', 400);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 2, max texture size 400', () => {
  it('has the flag, and long tensors really get a squarified texture', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(env().getNumber('WEBGL_MAX_TEXTURE_SIZE')).toBe(400);
    const a = tensor(new Float32Array(3 * 10_000), [3, 10_000]);
    webgl().uploadToGPU(a.dataId);
    const texShape = webgl().texData.get(a.dataId).texShape!;
    expect(Math.max(...texShape)).toBeLessThanOrEqual(400);
    expect(texShape[0]! * texShape[1]!).toBeGreaterThanOrEqual(30_000);
    dispose(a);
  });
});

defineConformanceSuite({ describe, it }, { path: 'fused', precision: 'float32', timeout: 120_000 });
defineExtraCases({ describe, it }, 'float32');
