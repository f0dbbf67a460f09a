import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
  referenceMaskedReduceGradAdjoint,
} from '../src/reference/masked_reduce.js';

// Expected values below are worked out by hand from docs/SPEC.md, not produced by any code here.
describe('float64 references', () => {
  const seedX = [
    [10, 10, 0, 0, 0, 0, 0, 0],
    [10, 10, 20, 20, 0, 0, 0, 0],
    [10, 10, 20, 20, 30, 30, 0, 0],
    [10, 10, 20, 20, 30, 30, 40, 40],
  ].flat();
  const seedMask = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1];

  it('reproduces the seed example of the spec for every reducer', () => {
    const run = (r: 'sum' | 'mean' | 'max' | 'min') =>
      referenceMaskedReduce(r, seedX, [4, 4, 2], seedMask, [4, 4], [1], false);
    expect(run('mean').shape).toEqual([4, 2]);
    expect(Array.from(run('mean').values)).toEqual([10, 10, 15, 15, 20, 20, 25, 25]);
    expect(Array.from(run('sum').values)).toEqual([10, 10, 30, 30, 60, 60, 100, 100]);
    expect(Array.from(run('max').values)).toEqual([10, 10, 20, 20, 30, 30, 40, 40]);
    expect(Array.from(run('min').values)).toEqual([10, 10, 10, 10, 10, 10, 10, 10]);
    expect(Array.from(run('mean').counts)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('gives exactly 0 for an all-masked row and ignores NaN/Inf under the mask', () => {
    const x = [Number.NaN, 1, Number.POSITIVE_INFINITY, 3];
    for (const r of ['sum', 'mean', 'max', 'min'] as const) {
      const out = referenceMaskedReduce(
        r,
        x,
        [2, 2],
        [false, true, false, false],
        [2, 2],
        [1],
        true,
      );
      expect(out.shape).toEqual([2, 1]);
      expect(Array.from(out.values)).toEqual([1, 0]);
    }
  });

  it('propagates NaN/Inf in valid positions', () => {
    const inf = Number.POSITIVE_INFINITY;
    const r = referenceMaskedReduce(
      'mean',
      [inf, 1, inf, -inf],
      [2, 2],
      [1, 1, 1, 1],
      [2, 2],
      [1],
      false,
    );
    expect(r.values[0]).toBe(inf);
    expect(r.values[1]).toBeNaN();
    const m = referenceMaskedReduce(
      'max',
      [Number.NaN, 5, -inf, 2],
      [2, 2],
      [1, 1, 1, 1],
      [2, 2],
      [1],
      false,
    );
    expect(m.values[0]).toBeNaN();
    expect(m.values[1]).toBe(2);
  });

  it('reduces non-contiguous axes of a full-shape mask', () => {
    // x[i][j][l] = 100i + 10j + l over [2,2,2]; reduce axes 0 and 2 where valid.
    const x = [0, 1, 10, 11, 100, 101, 110, 111];
    const mask = [1, 1, 1, 0, 0, 1, 0, 0];
    const r = referenceMaskedReduce('mean', x, [2, 2, 2], mask, [2, 2, 2], [0, 2], false);
    expect(r.shape).toEqual([2]);
    expect(Array.from(r.values)).toEqual([(0 + 1 + 101) / 3, 10]);
    const s = referenceMaskedReduce('max', x, [2, 2, 2], mask, [2, 2, 2], [0, 2], false);
    expect(Array.from(s.values)).toEqual([101, 10]);
  });

  it('gives each reducer its gradient: 0 where masked', () => {
    const mean = referenceMaskedReduceGrad(
      'mean',
      [1, 2, 3, 4, 5, 6],
      [6, 9],
      [2, 3],
      [1, 1, 0, 0, 0, 0],
      [2, 3],
      [1],
    );
    expect(Array.from(mean)).toEqual([3, 3, 0, 0, 0, 0]);
    const sum = referenceMaskedReduceGrad(
      'sum',
      [1, 2, 3, 4, 5, 6],
      [6, 9],
      [2, 3],
      [1, 1, 0, 0, 0, 1],
      [2, 3],
      [1],
    );
    expect(Array.from(sum)).toEqual([6, 6, 0, 0, 0, 9]);
    // Ties split evenly: row 0 has max 5 twice among the valid; row 1's max 9 is masked out.
    const max = referenceMaskedReduceGrad(
      'max',
      [5, 1, 5, 2, 9, 3],
      [6, 9],
      [2, 3],
      [1, 1, 1, 1, 0, 1],
      [2, 3],
      [1],
    );
    expect(Array.from(max)).toEqual([3, 0, 3, 0, 0, 9]);
    const min = referenceMaskedReduceGrad(
      'min',
      [5, 1, 5, 2, 9, 3],
      [6, 9],
      [2, 3],
      [1, 1, 1, 1, 0, 1],
      [2, 3],
      [1],
    );
    expect(Array.from(min)).toEqual([0, 6, 0, 9, 0, 0]);
  });

  it('gives the adjoint of each gradient in dy (double backprop)', () => {
    const w = [1, 2, 3, 4, 5, 6];
    const x = [5, 1, 5, 2, 9, 3];
    const mask = [1, 1, 1, 1, 0, 1];
    const adj = (r: 'sum' | 'mean' | 'max') =>
      Array.from(referenceMaskedReduceGradAdjoint(r, x, w, [2, 3], mask, [2, 3], [1]));
    expect(adj('sum')).toEqual([6, 10]);
    expect(adj('mean')).toEqual([2, 5]);
    expect(adj('max')).toEqual([2, 6]); // (1 + 3) / 2 over the tied 5s; the 3 alone
  });

  it('imports nothing: no geometry, kernel or tfjs code can be mirrored in the oracle', () => {
    for (const file of ['masked_reduce.ts', 'reducers.ts', 'embedding_bag.ts']) {
      const text = readFileSync(new URL(`../src/reference/${file}`, import.meta.url), 'utf8');
      const imports = [...text.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
      expect(imports.every((p) => p === './reducers.js')).toBe(true);
    }
  });
});
