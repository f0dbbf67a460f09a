// Typed like tfjs's own reductions: `pnpm test` type-checks this file (tsc over test/), and the
// runtime assertions check that the declared ranks are the real ones.
import '@tensorflow/tfjs-backend-cpu';
import {
  dispose,
  setBackend,
  type Tensor1D,
  type Tensor2D,
  tensor2d,
  tensor3d,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskedMax, maskedMean, maskedMin, maskedSum } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('op types', () => {
  it('return the tensor type the caller names, as tf.mean does', () => {
    const x3d = tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const m = tensor2d([[1, 0]], [1, 2], 'bool');
    const pooled: Tensor2D = maskedMean(x3d, m, 1);
    const total: Tensor1D = maskedSum(x3d, m); // every mask axis: the features remain
    const top: Tensor2D = maskedMax(x3d, m, 1);
    const bottom = maskedMin<Tensor2D>(x3d, m, 1);
    expect([pooled.rank, total.rank, top.rank, bottom.rank]).toEqual([2, 1, 2, 2]);
    // @ts-expect-error keepDims is a boolean
    expect(() => maskedMean(x3d, m, 1, 'yes')).toThrow(/keepDims must be a boolean/);
    dispose([x3d, m, pooled, total, top, bottom]);
  });
});
