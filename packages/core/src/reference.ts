/**
 * The float64 oracle for every test: a direct transcription of SPEC.md in plain TypeScript (no
 * tfjs, no shared code with the kernels). Slow and obvious on purpose: each x element is mapped to
 * its output position by decomposing its multi-index.
 */

export interface ReferenceResult {
  /** The masked means in float64, in the output's row-major order. */
  values: Float64Array;
  /** Valid-element count behind each output element. */
  counts: Float64Array;
  /** Largest |x| over the valid elements behind each output element (for error bounds). */
  maxAbs: Float64Array;
  shape: number[];
}

const isValid = (m: number | boolean): boolean => (typeof m === 'boolean' ? m : m !== 0);

/** For each x element: its output index, and its mask index. */
function walk(
  xShape: readonly number[],
  maskShape: readonly number[],
  axis: readonly number[],
  visit: (xIndex: number, outIndex: number, maskIndex: number) => void,
): void {
  const rank = xShape.length;
  const size = xShape.reduce((p, d) => p * d, 1);
  const inner = xShape.slice(maskShape.length).reduce((p, d) => p * d, 1);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < size; i++) {
    let rest = i;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = rest % xShape[d]!;
      rest = Math.floor(rest / xShape[d]!);
    }
    let out = 0;
    for (let d = 0; d < rank; d++) {
      if (!axis.includes(d)) out = out * xShape[d]! + index[d]!;
    }
    visit(i, out, Math.floor(i / inner));
  }
}

/**
 * Masked mean in float64. `axis` must be normalised (non-negative); `mask` holds the leading
 * `maskShape` dims of x in row-major order.
 */
export function referenceMaskedMean(
  x: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  keepDims: boolean,
): ReferenceResult {
  const shape = keepDims
    ? xShape.map((d, i) => (axis.includes(i) ? 1 : d))
    : xShape.filter((_, i) => !axis.includes(i));
  const outSize = shape.reduce((p, d) => p * d, 1);
  const sums = new Float64Array(outSize);
  const counts = new Float64Array(outSize);
  const maxAbs = new Float64Array(outSize);
  walk(xShape, maskShape, axis, (i, o, m) => {
    if (!isValid(mask[m]!)) return;
    const v = x[i]!;
    sums[o]! += v;
    counts[o]! += 1;
    if (Math.abs(v) > maxAbs[o]!) maxAbs[o] = Math.abs(v);
  });
  const values = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) values[o] = counts[o]! > 0 ? sums[o]! / counts[o]! : 0;
  return { values, counts, maxAbs, shape };
}

/** dx = valid ? dy / count : 0, in float64. `dy` in the output's row-major order. */
export function referenceMaskedMeanGrad(
  dy: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
): Float64Array {
  const outSize = xShape.reduce((p, d, i) => (axis.includes(i) ? p : p * d), 1);
  const counts = new Float64Array(outSize);
  walk(xShape, maskShape, axis, (_, o, m) => {
    if (isValid(mask[m]!)) counts[o]! += 1;
  });
  const dx = new Float64Array(xShape.reduce((p, d) => p * d, 1));
  walk(xShape, maskShape, axis, (i, o, m) => {
    if (isValid(mask[m]!)) dx[i] = dy[o]! / counts[o]!;
  });
  return dx;
}
