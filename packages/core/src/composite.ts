import {
  cast,
  divNoNan,
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

/**
 * The masked mean and its gradient from built-in tfjs ops, for backends without a plugin kernel.
 * Same semantics as the kernels: masked elements are *selected away* (`where`), never multiplied by
 * 0, so NaN/Inf under the mask cannot leak, and `divNoNan` gives exactly 0 for an all-masked row.
 */

/** The mask reshaped to x's rank with trailing 1s, so it broadcasts over the unmasked dims. */
const maskToRank = (mask: Tensor, rank: number): Tensor =>
  reshape(mask, [...mask.shape, ...new Array<number>(rank - mask.rank).fill(1)]);

/** `x`: float32, `mask`: bool (leading dims of x), `axis` normalised. */
export function compositeMaskedMean(
  x: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
): Tensor {
  return tidy(() => {
    if (x.size === 0) {
      // Every row is empty, so every output is the empty-row value 0. Handled here because some
      // backends' built-in reductions fail on zero-size inputs (tfjs-backend-wasm does).
      const outShape = x.shape.map((d, i) => (axis.includes(i) ? 1 : d));
      return zeros(keepDims ? outShape : outShape.filter((_, i) => !axis.includes(i)));
    }
    const m = maskToRank(mask, x.rank);
    const sums = sum(where(m, x, scalar(0)), axis, keepDims);
    const counts = sum(cast(m, 'float32'), axis, keepDims);
    return divNoNan(sums, counts);
  });
}

/** `dy` in the keepDims layout; returns dx of `xShape`: `valid ? dy / count : 0`. */
export function compositeMaskedMeanGrad(
  dy: Tensor,
  mask: Tensor,
  axis: number[],
  xShape: number[],
): Tensor {
  return tidy(() => {
    if (util.sizeFromShape(xShape) === 0) {
      return zeros(xShape);
    }
    const m = maskToRank(mask, xShape.length);
    const counts = sum(cast(m, 'float32'), axis, true);
    // 1/count from the mask alone, so nothing on dy's path is a comparison (tfjs's divNoNan puts
    // an Equal there, which has no gradient and would break double backprop).
    const inverse = divNoNan(onesLike(counts), counts);
    // where() broadcasts condition, value and 0 together to exactly xShape.
    return where(m, mul(dy, inverse), zeros(xShape));
  });
}
