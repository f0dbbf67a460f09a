import { describe, expect, it } from 'vitest';
import {
  referenceEmbeddingBag,
  referenceEmbeddingBagGrad,
} from '../src/reference/embedding_bag.js';
import {
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
} from '../src/reference/masked_reduce.js';

// Expected values worked out by hand from docs/SPEC.md (log-sum-exp, moments, embedding bag).
const inf = Number.POSITIVE_INFINITY;
const row = (reducer: 'logsumexp' | 'moments', x: number[], mask: number[], output = 0) =>
  referenceMaskedReduce(reducer, x, [1, x.length], mask, [1, x.length], [1], false, output)
    .values[0]!;

describe('float64 references of log-sum-exp and moments', () => {
  it('log-sum-exp: stable, and the non-finite rules', () => {
    expect(row('logsumexp', [1000, 1000], [1, 1])).toBeCloseTo(1000 + Math.LN2, 9);
    expect(row('logsumexp', [-1000, 5], [1, 0])).toBe(-1000);
    expect(row('logsumexp', [0, 0, 0, 0], [1, 1, 1, 1])).toBeCloseTo(Math.log(4), 12);
    expect(row('logsumexp', [1, 2], [0, 0])).toBe(-inf); // empty
    expect(row('logsumexp', [-inf, -inf], [1, 1])).toBe(-inf);
    expect(row('logsumexp', [inf, 3, -inf], [1, 1, 1])).toBe(inf);
    expect(row('logsumexp', [inf, Number.NaN], [1, 1])).toBeNaN();
    expect(row('logsumexp', [Number.NaN, 7], [0, 1])).toBe(7);
  });

  it('log-sum-exp gradient: dy times the softmax of the valid elements, 0 where y is -Inf', () => {
    const dx = (x: number[], mask: number[], dy = 2) =>
      Array.from(
        referenceMaskedReduceGrad('logsumexp', x, [dy], [1, x.length], mask, [1, x.length], [1]),
      );
    const [a, b, c] = dx([0, Math.log(3), 9], [1, 1, 0]);
    expect(a).toBeCloseTo(2 * 0.25, 6); // softmax of [0, log 3] is [1/4, 3/4]
    expect(b).toBeCloseTo(2 * 0.75, 6);
    expect(c).toBe(0);
    expect(dx([-inf, -inf], [1, 1])).toEqual([0, 0]);
    expect(dx([1, 2], [0, 0])).toEqual([0, 0]);
  });

  it('moments: population variance, cancellation-free, the empty and non-finite rules', () => {
    expect(row('moments', [1, 2, 3, 4], [1, 1, 1, 0])).toBe(2);
    expect(row('moments', [1, 2, 3, 4], [1, 1, 1, 0], 1)).toBeCloseTo(2 / 3, 12);
    expect(row('moments', [1e4 + 0.1, 1e4 - 0.1], [1, 1], 1)).toBeCloseTo(0.01, 9);
    expect(row('moments', [5, 6], [0, 0])).toBe(0);
    expect(row('moments', [5, 6], [0, 0], 1)).toBe(0);
    expect(row('moments', [inf, 1], [1, 1])).toBe(inf);
    expect(row('moments', [inf, 1], [1, 1], 1)).toBeNaN();
    expect(row('moments', [inf, -inf], [1, 1])).toBeNaN();
  });

  it('moments gradients: dmean / count, and 2 dvariance (x - mean) / count', () => {
    const dx = (output: number) =>
      Array.from(
        referenceMaskedReduceGrad(
          'moments',
          [1, 2, 6, 9],
          [3],
          [1, 4],
          [1, 1, 1, 0],
          [1, 4],
          [1],
          output,
        ),
      );
    expect(dx(0)).toEqual([1, 1, 1, 0]); // 3 / 3
    // mean 3: 2 * 3 * (x - 3) / 3
    expect(dx(1)).toEqual([-4, -2, 6, 0]);
  });
});

describe('float64 reference of the embedding bag', () => {
  // Rows r_k = [k, 10k]; bags [1, 2, pad], [3, 3, pad], [pad, pad, pad] with padding id 0.
  const input = (mode: 'sum' | 'mean' | 'max', perSampleWeights?: number[]) => ({
    weight: [0, 0, 1, 10, 2, 20, 3, 30],
    numEmbeddings: 4,
    dim: 2,
    ids: [1, 2, 0, 3, 3, 0, 0, 0, 0],
    offsets: [0, 3, 6, 9],
    mode,
    paddingId: 0,
    ...(perSampleWeights ? { perSampleWeights } : {}),
  });

  it('sums, averages and maxes the real rows; an empty bag gives zeros', () => {
    expect(Array.from(referenceEmbeddingBag(input('sum')).values)).toEqual([3, 30, 6, 60, 0, 0]);
    expect(Array.from(referenceEmbeddingBag(input('mean')).values)).toEqual([1.5, 15, 3, 30, 0, 0]);
    expect(Array.from(referenceEmbeddingBag(input('max')).values)).toEqual([2, 20, 3, 30, 0, 0]);
    expect(Array.from(referenceEmbeddingBag(input('sum')).counts)).toEqual([2, 2, 2, 2, 0, 0]);
    const weighted = referenceEmbeddingBag(input('sum', [2, 1, 100, 1, -1, 100, 1, 1, 1]));
    expect(Array.from(weighted.values)).toEqual([4, 40, 0, 0, 0, 0]);
  });

  it('scatters dy into the table: duplicates add up, padding and untouched rows stay 0', () => {
    const dy = [1, 2, 3, 4, 5, 6];
    expect(Array.from(referenceEmbeddingBagGrad(input('sum'), dy).dWeight)).toEqual([
      0, 0, 1, 2, 1, 2, 6, 8,
    ]);
    expect(Array.from(referenceEmbeddingBagGrad(input('mean'), dy).dWeight)).toEqual([
      0, 0, 0.5, 1, 0.5, 1, 3, 4,
    ]);
    // Max: row 2 wins bag 0; in bag 1 the two 3s tie (one row): it gets all of dy.
    expect(Array.from(referenceEmbeddingBagGrad(input('max'), dy).dWeight)).toEqual([
      0, 0, 0, 0, 1, 2, 3, 4,
    ]);
    const g = referenceEmbeddingBagGrad(input('sum', [2, 1, 100, 1, -1, 100, 1, 1, 1]), dy);
    expect(Array.from(g.dWeight)).toEqual([0, 0, 2, 4, 1, 2, 0, 0]);
    // d perSampleWeights: dy of the bag dotted with the row; 0 at padding.
    expect(Array.from(g.dPerSampleWeights!)).toEqual([21, 42, 0, 129, 129, 0, 0, 0, 0]);
  });
});
