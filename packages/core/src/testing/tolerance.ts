/**
 * The one error bound every backend is held to (SPEC.md "Accuracy").
 *
 * For an output averaging `count` valid elements whose largest magnitude is `maxAbs`:
 *
 *   |y - ref| <= c * (1 + maxAbs) * max(1, ceil(log2(count + 1)))
 *
 * with c = 1e-5 for float32 backends (cpu, wasm, webgl with float32 textures) and c = 2e-3 for
 * webgl with half-float textures, whose inputs are already rounded to 11 significant bits
 * (relative 4.9e-4) before the shader reads them, and whose multi-pass partial sums are rounded
 * again between passes. The log factor is the depth of a pairwise / multi-pass summation; a
 * sequential float32 sum of random data stays well inside it even at count = 10,000.
 * Gradients (dx = dy / count, one rounding) use the same bound with maxAbs = |dy|.
 * Non-finite references must match exactly: NaN where NaN, the same signed Inf.
 */
export type Precision = 'float32' | 'float16';

export const TOLERANCE_FACTOR: Record<Precision, number> = { float32: 1e-5, float16: 2e-3 };

export function allowedError(maxAbs: number, count: number, precision: Precision): number {
  return TOLERANCE_FACTOR[precision] * (1 + maxAbs) * Math.max(1, Math.ceil(Math.log2(count + 1)));
}

/** Null when `actual` is acceptable for `expected`, else a description of the mismatch. */
export function mismatch(actual: number, expected: number, allowed: number): string | null {
  if (Number.isNaN(expected)) return Number.isNaN(actual) ? null : `expected NaN, got ${actual}`;
  if (!Number.isFinite(expected)) {
    return actual === expected ? null : `expected ${expected}, got ${actual}`;
  }
  if (!Number.isFinite(actual)) return `expected ${expected}, got ${actual}`;
  const err = Math.abs(actual - expected);
  return err <= allowed ? null : `expected ${expected}, got ${actual} (|err| ${err} > ${allowed})`;
}
