/**
 * The one error bound every backend is held to (docs/SPEC.md "Accuracy"), and the one function
 * that compares results with a reference: core's suite, the backends' own tests and the demo
 * matrix all call {@link compareWithReference}.
 *
 * For an output reducing `count` valid elements with scale `s` (the largest |valid value| for a
 * mean, their sum of magnitudes for a sum, |ref| for a gradient element):
 *
 *   |y - ref| <= c * (1 + s) * max(1, ceil(log2(count + 1)))
 *
 * with c = 1e-5 for float32 backends (cpu, wasm, webgl with float32 textures) and c = 2e-3 for
 * webgl with half-float textures, whose inputs are already rounded to 11 significant bits
 * (relative 4.9e-4) before the shader reads them, and whose multi-pass partial sums are rounded
 * again between passes. The log factor is the depth of a pairwise / blocked summation.
 * Exact reducers (max, min: the result is one of the inputs) must match the float32-rounded
 * reference exactly on float32 backends; with half-float textures they get the bound with
 * count 1. A reference that rounds to ±Inf in float32 (a sum beyond float32's range) must come
 * out as that Inf. Non-finite references must match exactly: NaN where NaN, the same signed Inf.
 * A slice with no valid element must give exactly the reference's empty value.
 */
export type Precision = 'float32' | 'float16';

export const TOLERANCE_FACTOR: Record<Precision, number> = { float32: 1e-5, float16: 2e-3 };

const logFactor = (count: number): number => Math.max(1, Math.ceil(Math.log2(count + 1)));

export function allowedError(scale: number, count: number, precision: Precision): number {
  return TOLERANCE_FACTOR[precision] * (1 + scale) * logFactor(count);
}

/** Null when `actual` is acceptable for `expected`, else a description of the mismatch. */
export function mismatch(actual: number, expected: number, allowed: number): string | null {
  if (Number.isNaN(expected)) return Number.isNaN(actual) ? null : `expected NaN, got ${actual}`;
  const rounded = Math.fround(expected);
  if (!Number.isFinite(rounded)) {
    return actual === rounded ? null : `expected ${expected} (float32 ${rounded}), got ${actual}`;
  }
  if (!Number.isFinite(actual)) return `expected ${expected}, got ${actual}`;
  const err = Math.abs(actual - expected);
  return err <= allowed ? null : `expected ${expected}, got ${actual} (|err| ${err} > ${allowed})`;
}

/** What a reference says about each output element. */
export interface Expected {
  values: ArrayLike<number>;
  /** Valid elements behind each value; 0 means an empty slice (exact match required). */
  counts?: ArrayLike<number>;
  /** Error-bound scale per value; defaults to |value|. */
  scales?: ArrayLike<number>;
  /** The values are inputs picked exactly (max/min). */
  exact?: boolean;
  /**
   * The scales are relative: the bound is `c * scale * log factor` with no `1 +` (softmax
   * probabilities, small in long rows), plus float32's smallest normal (GPUs may flush
   * subnormals to 0).
   */
  relative?: boolean;
}

/** float32's smallest normal number. */
const SMALLEST_NORMAL = 2 ** -126;

/** Every out-of-bounds element of `actual`, described (empty when all are within bounds). */
export function compareValues(
  actual: ArrayLike<number>,
  expected: Expected,
  precision: Precision,
): string[] {
  const problems: string[] = [];
  if (actual.length !== expected.values.length) {
    return [`${actual.length} values, expected ${expected.values.length}`];
  }
  for (let i = 0; i < actual.length; i++) {
    const want = expected.values[i]!;
    const got = actual[i]!;
    const count = expected.counts?.[i] ?? 1;
    let p: string | null;
    if (count === 0) {
      p = Object.is(got + 0, want + 0)
        ? null
        : `expected exactly ${want} (empty slice), got ${got}`;
    } else if (expected.exact && precision === 'float32') {
      p = mismatch(got, want, 0);
      if (p === null && Number.isFinite(want) && got !== Math.fround(want)) {
        p = `expected exactly ${Math.fround(want)}, got ${got}`;
      }
    } else {
      const scale = expected.scales?.[i] ?? Math.abs(want);
      const allowed = expected.relative
        ? TOLERANCE_FACTOR[precision] * scale * logFactor(count) + SMALLEST_NORMAL
        : allowedError(scale, expected.exact ? 1 : count, precision);
      p = mismatch(got, want, allowed);
    }
    if (p) problems.push(`[${i}] ${p}`);
  }
  return problems;
}

/** Throws, naming `label` and the first few problems, unless every element is within bounds. */
export function compareWithReference(
  label: string,
  actual: ArrayLike<number>,
  expected: Expected,
  precision: Precision = 'float32',
): void {
  const problems = compareValues(actual, expected, precision);
  if (problems.length) {
    throw new Error(
      `${label}: ${problems.length} of ${expected.values.length} elements out of bounds; first: ${problems.slice(0, 5).join('; ')}`,
    );
  }
}
