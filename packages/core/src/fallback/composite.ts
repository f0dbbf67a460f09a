import {
  div,
  divNoNan,
  equal,
  fill,
  isNaN as isNaNOp,
  logicalAnd,
  logicalOr,
  max,
  min,
  mul,
  onesLike,
  reshape,
  scalar,
  sum,
  type Tensor,
  tidy,
  util,
  where,
  zeros,
} from '@tensorflow/tfjs-core';
import type { ReducerName } from '../ops/table.js';

/**
 * Every masked reduction and its gradient from built-in tfjs ops, for backends without a plugin
 * kernel. Same semantics as the kernels: masked elements are *selected away* (`where`), never
 * multiplied by 0, so NaN/Inf under the mask cannot leak, and a slice with no valid element gives
 * the row's empty value. Counts come from `where(mask, 1, 0)`, never from casting the bool mask:
 * tfjs-webgpu 4.22's bool -> float32 cast only relabels the int buffer (tfjs#8638).
 */

/** The mask reshaped to x's rank with trailing 1s, so it broadcasts over the unmasked dims. */
export const maskToRank = (mask: Tensor, rank: number): Tensor =>
  reshape(mask, [...mask.shape, ...new Array<number>(rank - mask.rank).fill(1)]);

/** Number of valid elements per output, in the layout of a reduction with these arguments. */
const validCounts = (m: Tensor, axis: number[], keepDims: boolean): Tensor =>
  sum(where(m, scalar(1), scalar(0)), axis, keepDims);

/** Valid positions whose value ties the slice's result (NaN ties NaN: a valid NaN is the max). */
export const tiedPositions = (m: Tensor, x: Tensor, y: Tensor): Tensor =>
  logicalAnd(m, logicalOr(equal(x, y), logicalAnd(isNaNOp(x), isNaNOp(y))));

/** max/min over the valid elements; a valid NaN gives NaN whatever tfjs's max does with NaN. */
function extremum(
  which: 'max' | 'min',
  x: Tensor,
  m: Tensor,
  axis: number[],
  keepDims: boolean,
): Tensor {
  const ignore = scalar(which === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY);
  const reduce = which === 'max' ? max : min;
  const extreme = reduce(where(m, x, ignore), axis, keepDims);
  const anyNaN = max(where(logicalAnd(m, isNaNOp(x)), scalar(1), scalar(0)), axis, keepDims);
  const nonEmpty = validCounts(m, axis, keepDims);
  return where(
    equal(anyNaN, scalar(1)),
    scalar(Number.NaN),
    where(equal(nonEmpty, scalar(0)), scalar(0), extreme),
  );
}

/** `x`: float32, `mask`: bool (leading dims of x), `axis` normalised. */
export function compositeMaskedReduce(
  reducer: ReducerName,
  x: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
  emptyValue: number,
): Tensor {
  return tidy(() => {
    if (x.size === 0) {
      // Every slice is empty (or there is no output at all). Handled here because some backends'
      // built-in reductions fail on zero-size inputs (tfjs-backend-wasm does).
      const keep = x.shape.map((d, i) => (axis.includes(i) ? 1 : d));
      return fill(keepDims ? keep : keep.filter((_, i) => !axis.includes(i)), emptyValue);
    }
    const m = maskToRank(mask, x.rank);
    switch (reducer) {
      case 'sum':
        return sum(where(m, x, scalar(0)), axis, keepDims);
      case 'mean':
        // Each term divided by its slice's count first, so the sum cannot overflow where the mean
        // is finite ([3e38, 3e38] -> 3e38). Where the count is 0 every term is masked out.
        return sum(where(m, div(x, validCounts(m, axis, true)), scalar(0)), axis, keepDims);
      case 'max':
      case 'min':
        return extremum(reducer, x, m, axis, keepDims);
    }
  });
}

/**
 * dx of a masked reduction from built-in ops. `dy` (and `y`) in the keepDims layout; returns dx of
 * `xShape`. Nothing on dy's path is a comparison, so the result is differentiable in dy again
 * (double backprop) wherever tfjs's built-in gradients are registered.
 */
export function compositeMaskedReduceGrad(
  reducer: ReducerName,
  dy: Tensor,
  mask: Tensor,
  axis: number[],
  xShape: number[],
  x?: Tensor,
  y?: Tensor,
): Tensor {
  return tidy(() => {
    if (util.sizeFromShape(xShape) === 0) return zeros(xShape);
    const m = maskToRank(mask, xShape.length);
    // where() broadcasts condition, value and 0 together to exactly xShape.
    switch (reducer) {
      case 'sum':
        return where(m, mul(dy, onesLike(dy)), zeros(xShape));
      case 'mean': {
        const counts = validCounts(m, axis, true);
        return where(m, mul(dy, divNoNan(onesLike(counts), counts)), zeros(xShape));
      }
      case 'max':
      case 'min': {
        if (x === undefined || y === undefined) {
          throw new Error(`masked ${reducer} gradient: x and y are required`);
        }
        const tie = tiedPositions(m, x, y);
        const ties = validCounts(tie, axis, true);
        return where(tie, mul(dy, divNoNan(onesLike(ties), ties)), zeros(xShape));
      }
    }
  });
}
