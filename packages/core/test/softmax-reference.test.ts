import { describe, expect, it } from 'vitest';
import { referenceMaskedSoftmax, referenceMaskedSoftmaxGrad } from '../src/reference/softmax.js';
import { maskOffset, softmaxGeometry } from '../src/softmax/geometry.js';
import { validateSoftmaxArgs } from '../src/softmax/validate.js';

// Expected values worked out by hand from docs/SPEC.md "Masked softmax".
const inf = Number.POSITIVE_INFINITY;
const nan = Number.NaN;
const e = Math.E;

const softmax = (
  logits: number[],
  mask: number[],
  options: { shape?: number[]; maskShape?: number[]; axis?: number; log?: boolean } = {},
) =>
  Array.from(
    referenceMaskedSoftmax({
      logits,
      logitsShape: options.shape ?? [logits.length],
      mask,
      maskShape: options.maskShape ?? [mask.length],
      axis: options.axis ?? 0,
      log: options.log ?? false,
    }).values,
  );

describe('float64 reference of the masked softmaxes', () => {
  it('softmax over valid positions, exact 0 at masked ones, zeros for an empty row', () => {
    const [a, b, c] = softmax([1, 2, 3], [1, 0, 1]);
    expect(a).toBeCloseTo(1 / (1 + e * e), 12);
    expect(b).toBe(0);
    expect(c).toBeCloseTo((e * e) / (1 + e * e), 12);
    expect(softmax([1, 2], [0, 0])).toEqual([0, 0]);
    expect(softmax([1, 2], [0, 0], { log: true })).toEqual([0, 0]);
  });

  it('log-softmax: x - logsumexp at valid positions, -Inf at masked ones', () => {
    const [a, b, c] = softmax([0, 9, Math.log(3)], [1, 0, 1], { log: true });
    expect(a).toBeCloseTo(Math.log(1 / 4), 12);
    expect(b).toBe(-inf);
    expect(c).toBeCloseTo(Math.log(3 / 4), 12);
  });

  it('huge logits do not overflow; the non-finite rules', () => {
    expect(softmax([1e30, 1e30], [1, 1])).toEqual([0.5, 0.5]);
    expect(softmax([3e38, -3e38], [1, 1])).toEqual([1, 0]);
    expect(softmax([nan, 1, 2], [0, 1, 1])[0]).toBe(0); // a masked NaN never leaks
    expect(softmax([nan, 1, 2], [1, 1, 0])).toEqual([nan, nan, 0]);
    expect(softmax([inf, 1], [1, 1])).toEqual([nan, nan]);
    expect(softmax([-inf, 0], [1, 1])).toEqual([0, 1]);
    expect(softmax([-inf, -inf], [1, 1])).toEqual([0, 0]);
    expect(softmax([-inf, -inf, 1], [1, 1, 0], { log: true })).toEqual([-inf, -inf, -inf]);
  });

  it('broadcasts a key-padding mask [B,1,L] over [B,Q,L]', () => {
    const y = softmax([0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 1, 1], {
      shape: [2, 2, 2],
      maskShape: [2, 1, 2],
      axis: 2,
    });
    expect(y).toEqual([1, 0, 1, 0, 0.5, 0.5, 0.5, 0.5]);
  });

  it('a non-last axis, mask broadcast along the last dim', () => {
    // logits [2,2] axis 0: columns are the rows; mask [2,1] makes row 0 valid, row 1 masked.
    expect(softmax([5, 1, 7, 2], [1, 0], { shape: [2, 2], maskShape: [2, 1], axis: 0 })).toEqual([
      1, 1, 0, 0,
    ]);
  });

  it('gradients: y (dy - sum y dy) and dy - exp(y) sum dy over valid positions only', () => {
    const input = {
      logits: [0, Math.log(3), 5],
      logitsShape: [3],
      mask: [1, 1, 0],
      maskShape: [3],
      axis: 0,
    };
    // y = [1/4, 3/4, 0]; dy = [1, 2, NaN]: s = 1/4 + 3/2 = 7/4.
    const g = referenceMaskedSoftmaxGrad({ ...input, log: false }, [1, 2, nan]);
    expect(g.values[0]).toBeCloseTo(0.25 * (1 - 1.75), 7);
    expect(g.values[1]).toBeCloseTo(0.75 * (2 - 1.75), 7);
    expect(g.values[2]).toBe(0);
    // log: t = 3; dx = dy - p * 3.
    const l = referenceMaskedSoftmaxGrad({ ...input, log: true }, [1, 2, nan]);
    expect(l.values[0]).toBeCloseTo(1 - 0.75, 6);
    expect(l.values[1]).toBeCloseTo(2 - 2.25, 6);
    expect(l.values[2]).toBe(0);
  });
});

describe('softmax geometry', () => {
  it('key padding [B,1,1,L] over [B,H,Q,L]: merged outer dims, stride-0 broadcast', () => {
    const g = softmaxGeometry([2, 3, 4, 5], [2, 1, 1, 5], 3);
    expect([g.outer, g.n, g.inner, g.maskAxisStride]).toEqual([24, 5, 1, 1]);
    expect(g.outerDims).toEqual([
      { size: 2, maskStride: 5 },
      { size: 12, maskStride: 0 },
    ]);
    expect(g.innerDims).toEqual([]);
    // Row 13 = batch 1, (h, q) = 1: its mask row starts at 5.
    expect(maskOffset(g.outerDims, 13)).toBe(5);
    expect(maskOffset(g.outerDims, 11)).toBe(0);
  });

  it('causal [Q,L] over [B,H,Q,L], and a non-last axis', () => {
    const g = softmaxGeometry([2, 3, 4, 4], [1, 1, 4, 4], 3);
    expect(g.outerDims).toEqual([
      { size: 6, maskStride: 0 },
      { size: 4, maskStride: 4 },
    ]);
    expect(maskOffset(g.outerDims, 7)).toBe(12);
    const h = softmaxGeometry([3, 5, 2], [3, 5, 1], 1);
    expect([h.outer, h.n, h.inner, h.maskAxisStride]).toEqual([3, 5, 2, 1]);
    expect(h.innerDims).toEqual([{ size: 2, maskStride: 0 }]);
    expect(h.maskStrides).toEqual([5, 1, 0]);
  });
});

describe('softmax validation', () => {
  const info = (logitsShape: number[], maskShape: number[], axis: unknown = -1) => ({
    logitsShape,
    logitsDtype: 'float32' as const,
    maskShape,
    maskDtype: 'bool' as const,
    axis,
  });
  it('normalises the axis and accepts every broadcast pattern', () => {
    expect(validateSoftmaxArgs('maskedSoftmax', info([8, 12, 128, 128], [8, 1, 1, 128]))).toBe(3);
    expect(validateSoftmaxArgs('maskedSoftmax', info([2, 4], [4], 0))).toBe(0);
    expect(validateSoftmaxArgs('maskedSoftmax', info([2, 4], [1], -2))).toBe(0);
  });
  it('names the op, the argument and the shapes', () => {
    expect(() => validateSoftmaxArgs('maskedLogSoftmax', info([2, 4], [3]))).toThrow(
      'maskedLogSoftmax: mask.shape does not broadcast to logits.shape: mask dim 0 is 3, logits dim 1 is 4',
    );
  });
});
