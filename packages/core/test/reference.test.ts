import { describe, expect, it } from 'vitest';
import { referenceMaskedMean, referenceMaskedMeanGrad } from '../src/reference.js';

// Expected values below are worked out by hand from SPEC.md, not produced by any code here.
describe('float64 reference', () => {
  it('reproduces the seed example of SPEC.md', () => {
    const x = [
      [10, 10, 0, 0, 0, 0, 0, 0],
      [10, 10, 20, 20, 0, 0, 0, 0],
      [10, 10, 20, 20, 30, 30, 0, 0],
      [10, 10, 20, 20, 30, 30, 40, 40],
    ].flat();
    const mask = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1];
    const r = referenceMaskedMean(x, [4, 4, 2], mask, [4, 4], [1], false);
    expect(r.shape).toEqual([4, 2]);
    expect(Array.from(r.values)).toEqual([10, 10, 15, 15, 20, 20, 25, 25]);
    expect(Array.from(r.counts)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('gives exactly 0 for an all-masked row and ignores NaN/Inf under the mask', () => {
    const x = [Number.NaN, 1, Number.POSITIVE_INFINITY, 3];
    const r = referenceMaskedMean(x, [2, 2], [false, true, false, false], [2, 2], [1], true);
    expect(r.shape).toEqual([2, 1]);
    expect(Array.from(r.values)).toEqual([1, 0]);
  });

  it('propagates NaN/Inf in valid positions', () => {
    const inf = Number.POSITIVE_INFINITY;
    const r = referenceMaskedMean([inf, 1, inf, -inf], [2, 2], [1, 1, 1, 1], [2, 2], [1], false);
    expect(r.values[0]).toBe(inf);
    expect(r.values[1]).toBeNaN();
  });

  it('reduces non-contiguous axes of a full-shape mask', () => {
    // x[i][j][l] = 100i + 10j + l over [2,2,2]; reduce axes 0 and 2 where valid.
    const x = [0, 1, 10, 11, 100, 101, 110, 111];
    const mask = [1, 1, 1, 0, 0, 1, 0, 0];
    const r = referenceMaskedMean(x, [2, 2, 2], mask, [2, 2, 2], [0, 2], false);
    expect(r.shape).toEqual([2]);
    expect(Array.from(r.values)).toEqual([(0 + 1 + 101) / 3, 10]);
  });

  it('gives dx = dy / count where valid, 0 elsewhere', () => {
    const dx = referenceMaskedMeanGrad([6, 9], [2, 3], [1, 1, 0, 0, 0, 0], [2, 3], [1]);
    expect(Array.from(dx)).toEqual([3, 3, 0, 0, 0, 0]);
    const broadcast = referenceMaskedMeanGrad([4, 8], [2, 2], [1, 1], [2], [0]);
    expect(Array.from(broadcast)).toEqual([2, 4, 2, 4]);
  });
});
