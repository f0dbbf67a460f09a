/**
 * The float64 reference of every masked reduction: gathers each output's valid values by
 * decomposing every x element's multi-index (slow and obvious on purpose), then applies the
 * reducer's oracle. Imports only the oracles, never the geometry or kernel code.
 */
import { REFERENCE_REDUCERS, type ReferenceReducer } from './reducers.js';

export type ReferenceName = keyof typeof REFERENCE_REDUCERS;

export interface ReferenceResult {
  /** The results in float64, in the output's row-major order. */
  values: Float64Array;
  /** Valid-element count behind each output element. */
  counts: Float64Array;
  /** The error-bound scale of each output element (see ReferenceReducer.scale). */
  scales: Float64Array;
  shape: number[];
  exact: boolean;
}

const isValid = (m: number | boolean): boolean => (typeof m === 'boolean' ? m : m !== 0);

/** For each output element, the x indices of its valid elements, in x's row-major order. */
function slices(
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
): number[][] {
  const rank = xShape.length;
  const size = xShape.reduce((p, d) => p * d, 1);
  const inner = xShape.slice(maskShape.length).reduce((p, d) => p * d, 1);
  const outSize = xShape.reduce((p, d, i) => (axis.includes(i) ? p : p * d), 1);
  const out: number[][] = Array.from({ length: outSize }, () => []);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < size; i++) {
    let rest = i;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = rest % xShape[d]!;
      rest = Math.floor(rest / xShape[d]!);
    }
    let o = 0;
    for (let d = 0; d < rank; d++) {
      if (!axis.includes(d)) o = o * xShape[d]! + index[d]!;
    }
    if (isValid(mask[Math.floor(i / inner)]!)) out[o]!.push(i);
  }
  return out;
}

const reducerOf = (name: ReferenceName): ReferenceReducer => REFERENCE_REDUCERS[name];

/**
 * A masked reduction in float64. `axis` must be normalised (non-negative); `mask` holds the
 * leading `maskShape` dims of x in row-major order; `output` picks one result of a several-output
 * op (moments: 0 the mean, 1 the variance).
 */
export function referenceMaskedReduce(
  reducer: ReferenceName,
  x: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  keepDims: boolean,
  output = 0,
): ReferenceResult {
  const r = reducerOf(reducer);
  const shape = keepDims
    ? xShape.map((d, i) => (axis.includes(i) ? 1 : d))
    : xShape.filter((_, i) => !axis.includes(i));
  const groups = slices(xShape, mask, maskShape, axis);
  const values = new Float64Array(groups.length);
  const counts = new Float64Array(groups.length);
  const scales = new Float64Array(groups.length);
  groups.forEach((g, o) => {
    const vs = g.map((i) => x[i]!);
    values[o] = r.forward(vs, output);
    counts[o] = vs.length;
    scales[o] = r.scale(vs, output);
  });
  return { values, counts, scales, shape, exact: r.exact };
}

/**
 * For each output element, the x indices of its valid elements and the reducer's gradient of
 * each (given the cotangent `dyOf(o)` of output `output`).
 */
function sliceGradients(
  reducer: ReferenceName,
  x: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  dyOf: (o: number) => number,
  output: number,
): { g: number[]; grads: number[]; scales: number[] }[] {
  const r = reducerOf(reducer);
  return slices(xShape, mask, maskShape, axis).map((g, o) => {
    const vs = g.map((i) => x[i]!);
    const grads = r.backward(vs, dyOf(o), output);
    const scales = r.gradScale?.(vs, dyOf(o), output, grads) ?? grads.map(Math.abs);
    return { g, grads, scales };
  });
}

/** One per-slice field spread back over x's elements (0 at masked positions). */
function perElement(
  xShape: readonly number[],
  perSlice: { g: number[]; grads: number[]; scales: number[] }[],
  field: 'grads' | 'scales',
): Float64Array {
  const out = new Float64Array(xShape.reduce((p, d) => p * d, 1));
  for (const slice of perSlice) {
    slice.g.forEach((i, j) => {
      out[i] = slice[field][j]!;
    });
  }
  return out;
}

/**
 * dx of a masked reduction in float64: `dy` (the cotangent of output `output`; the others' are
 * 0) in the output's row-major order; 0 at masked positions and on empty slices.
 */
export function referenceMaskedReduceGrad(
  reducer: ReferenceName,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  output = 0,
): Float64Array {
  const perSlice = sliceGradients(reducer, x, xShape, mask, maskShape, axis, (o) => dy[o]!, output);
  return perElement(xShape, perSlice, 'grads');
}

/**
 * The error-bound scale of each element of {@link referenceMaskedReduceGrad}'s result (0 at
 * masked positions): |dx| plus what the gradient inherits from the op's float32 output.
 */
export function referenceMaskedReduceGradScales(
  reducer: ReferenceName,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  output = 0,
): Float64Array {
  const perSlice = sliceGradients(reducer, x, xShape, mask, maskShape, axis, (o) => dy[o]!, output);
  return perElement(xShape, perSlice, 'scales');
}

/**
 * The adjoint of the gradient with respect to dy (double backprop), applied to a cotangent `w` of
 * x's shape: per output, sum_i d(dx_i)/d(dy) * w_i. Each dx is linear in dy, so this is the
 * backward coefficients (dy = 1) dotted with w. For a several-output op, `output` picks the dy.
 */
export function referenceMaskedReduceGradAdjoint(
  reducer: ReferenceName,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  xShape: readonly number[],
  mask: ArrayLike<number | boolean>,
  maskShape: readonly number[],
  axis: readonly number[],
  output = 0,
): Float64Array {
  const perSlice = sliceGradients(reducer, x, xShape, mask, maskShape, axis, () => 1, output);
  return Float64Array.from(perSlice, ({ g, grads }) =>
    g.reduce((s, i, j) => s + grads[j]! * w[i]!, 0),
  );
}
