// WebGL 2 with WEBGL_MAX_TEXTURE_SIZE 640: every tensor with a dim (or flat size) above 400 gets
// tfjs's squarified texture layout, including x of the long cases, our flat partial states and
// outputs. 640 * 640 still holds the largest case (400,000 values). maskedMean runs every
// structural case; the other ops the ones whose x is squarified (the small ones lay out as in the
// other configurations).
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { dispose, env, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineExtraCases,
  defineSecondarySuite,
  defineTexelCases,
  squarified,
  webgl,
} from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_MAX_TEXTURE_SIZE', 640);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 2, max texture size 640', () => {
  it('has the flag, and long tensors really get a squarified texture', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(env().getNumber('WEBGL_MAX_TEXTURE_SIZE')).toBe(640);
    const a = tensor(new Float32Array(3 * 10_000), [3, 10_000]);
    webgl().uploadToGPU(a.dataId);
    const texShape = webgl().texData.get(a.dataId).texShape!;
    expect(Math.max(...texShape)).toBeLessThanOrEqual(640);
    expect(texShape[0]! * texShape[1]!).toBeGreaterThanOrEqual(30_000);
    dispose(a);
  });
});

defineSecondarySuite({ describe, it }, 'float32', squarified);
defineExtraCases({ describe, it }, 'float32', ['mean']);
// The texel cases that fit in 640 * 640 texels.
defineTexelCases({ describe, it }, 'float32', undefined, 'packed', (c) => c.x.length <= 400_000);
