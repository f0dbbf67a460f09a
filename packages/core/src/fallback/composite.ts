import {
  add,
  div,
  divNoNan,
  equal,
  exp,
  fill,
  greater,
  isFinite as isFiniteOp,
  isNaN as isNaNOp,
  log,
  logicalAnd,
  logicalOr,
  max,
  min,
  mul,
  notEqual,
  onesLike,
  reshape,
  scalar,
  square,
  sub,
  sum,
  type Tensor,
  tidy,
  util,
  where,
  zeros,
  zerosLike,
} from '@tensorflow/tfjs-core';
import type { ReducerName } from '../ops/table.js';
import { nonZero } from './non_zero.js';

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
export const validCounts = (m: Tensor, axis: number[], keepDims: boolean): Tensor =>
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

/**
 * The masked mean, each term divided by its slice's count first, so the sum cannot overflow where
 * the mean is finite ([3e38, 3e38] -> 3e38). Where the count is 0 every term is masked out.
 */
const meanOf = (x: Tensor, m: Tensor, axis: number[], keepDims: boolean): Tensor =>
  sum(where(m, div(x, validCounts(m, axis, true)), scalar(0)), axis, keepDims);

/** How many valid elements per slice satisfy `test` (keepDims layout). */
const countWhere = (m: Tensor, test: Tensor, axis: number[]): Tensor =>
  validCounts(logicalAnd(m, test), axis, true);

/**
 * log(sum(exp(x))) over the valid elements, shifted by their largest finite value. The special
 * cases come from counts, never from a max over non-finite values: tfjs-webgl's max starts from
 * -1e20, not -Infinity, so an all -Inf slice would come back -1e20. A valid NaN gives NaN, then a
 * valid +Inf +Inf, then a slice with no value above -Inf (empty, or all -Inf) -Inf.
 */
function logSumExp(x: Tensor, m: Tensor, axis: number[], keepDims: boolean): Tensor {
  const finite = logicalAnd(m, isFiniteOp(x));
  const nanCount = countWhere(m, isNaNOp(x), axis);
  const infCount = countWhere(m, equal(x, scalar(Number.POSITIVE_INFINITY)), axis);
  const finiteCount = validCounts(finite, axis, true);
  const top = max(where(finite, x, scalar(-FLOAT32_MAX)), axis, true);
  const total = sum(where(finite, exp(sub(x, top)), scalar(0)), axis, true);
  const y = where(
    greater(nanCount, scalar(0)),
    scalar(Number.NaN),
    where(
      greater(infCount, scalar(0)),
      scalar(Number.POSITIVE_INFINITY),
      where(
        greater(finiteCount, scalar(0)),
        add(top, log(total)),
        scalar(Number.NEGATIVE_INFINITY),
      ),
    ),
  );
  return keepDims
    ? y
    : reshape(
        y,
        y.shape.filter((_, i) => !axis.includes(i)),
      );
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The population variance in two passes over x shifted by the slice's largest valid value: the
 * shift makes equal values give exactly 0 (an unshifted float32 mean of 3e38s is off by an ulp,
 * whose square overflows), and two passes keep `1e4 + noise`. A valid Inf or NaN makes x - shift
 * NaN somewhere, so the variance is NaN.
 */
function variance(x: Tensor, m: Tensor, axis: number[], keepDims: boolean): Tensor {
  const top = max(where(m, x, scalar(-FLOAT32_MAX)), axis, true);
  const shifted = sub(x, top);
  return meanOf(square(sub(shifted, meanOf(shifted, m, axis, true))), m, axis, keepDims);
}

/**
 * Output `output` of a masked reduction (0 unless the table row has several: moments' mean 0,
 * variance 1). `x`: float32, `mask`: bool (leading dims of x), `axis` normalised.
 */
export function compositeMaskedReduce(
  reducer: ReducerName,
  x: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
  emptyValue: number,
  output = 0,
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
        return meanOf(x, m, axis, keepDims);
      case 'max':
      case 'min':
        return extremum(reducer, x, m, axis, keepDims);
      case 'logsumexp':
        return logSumExp(x, m, axis, keepDims);
      case 'moments':
        return output === 0 ? meanOf(x, m, axis, keepDims) : variance(x, m, axis, keepDims);
    }
  });
}

/**
 * dx of a masked reduction from built-in ops. `dys` (the cotangent of each output) and `y` in the
 * keepDims layout; returns dx of `xShape`. Nothing on a dy's path is a comparison, so the result
 * is differentiable in dy again (double backprop) wherever tfjs's built-in gradients are
 * registered.
 */
export function compositeMaskedReduceGrad(
  reducer: ReducerName,
  dys: readonly Tensor[],
  mask: Tensor,
  axis: number[],
  xShape: number[],
  x?: Tensor,
  y?: Tensor,
): Tensor {
  const dy = dys[0]!;
  const needXY = (): [Tensor, Tensor] => {
    if (x === undefined || y === undefined) {
      throw new Error(`masked ${reducer} gradient: x and y are required`);
    }
    return [x, y];
  };
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
        const [xs, ys] = needXY();
        const tie = tiedPositions(m, xs, ys);
        const ties = validCounts(tie, axis, true);
        return where(tie, mul(dy, divNoNan(onesLike(ties), ties)), zeros(xShape));
      }
      case 'logsumexp': {
        const [xs, ys] = needXY();
        // 0 where y is -Inf (empty, or every valid value -Inf): no element carries any mass.
        // (NaN != -Inf, so a NaN y still propagates.) exp(x - y) is zeroed off the live
        // positions before it meets dy, so double backprop never sees 0 * Inf there.
        const live = logicalAnd(m, notEqual(ys, scalar(Number.NEGATIVE_INFINITY)));
        // NaN where x - y is (a NaN y, or x = y = +Inf), said explicitly: WGSL's exp(NaN) on
        // webgpu need not be NaN.
        const diff = sub(xs, ys);
        const e = where(
          live,
          where(logicalOr(isNaNOp(diff), isNaNOp(ys)), scalar(Number.NaN), exp(diff)),
          zeros(xShape),
        );
        return where(live, mul(dy, e), zeros(xShape));
      }
      case 'moments': {
        const [xs, ys] = needXY();
        const dVariance = dys[1] ?? zeros(dy.shape);
        const counts = validCounts(m, axis, true);
        const perCount = divNoNan(onesLike(counts), counts);
        // x - mean zeroed at masked positions, and the variance term only where its cotangent
        // is non-zero: tfjs passes a zero one for an unused output, and 0 * NaN (x - mean at a
        // valid Inf) must not reach the mean's gradient. `nonZero` keeps the test off the tape.
        const spread = mul(mul(scalar(2), dVariance), where(m, sub(xs, ys), zeros(xShape)));
        const used = where(nonZero(dVariance), spread, zerosLike(spread));
        return where(m, mul(add(dy, used), perCount), zeros(xShape));
      }
    }
  });
}
