import { maskedMultiOp, maskedReduceOp } from './masked_reduce.js';
import {
  MASKED_LOG_SUM_EXP,
  MASKED_MAX,
  MASKED_MEAN,
  MASKED_MIN,
  MASKED_MOMENTS,
  MASKED_SUM,
} from './table.js';

/*
 * The exported ops, one line per table row. Every one: `op(x, mask, axis?, keepDims = false)`,
 * float32 result; `mask.shape` equals the leading dims of `x.shape` (bool, int32 or float32,
 * non-zero = valid); `axis` (default: every mask axis) must be mask axes; masked elements are
 * selected away, so NaN/Inf there never leak. See docs/SPEC.md for each op's semantics, empty
 * slice value and gradient.
 */

/** Sum of x over `axis`, counting only the elements where `mask` is non-zero (0 where none is). */
export const maskedSum = maskedReduceOp(MASKED_SUM);

/**
 * Mean of x over `axis`, counting only the elements where `mask` is non-zero (divides by the
 * number of valid elements; 0 where there is none).
 */
export const maskedMean = maskedReduceOp(MASKED_MEAN);

/**
 * Max of x over the valid elements (0 where there is none); a valid NaN gives NaN. The gradient
 * goes to the tied arg-max.
 */
export const maskedMax = maskedReduceOp(MASKED_MAX);

/**
 * Min of x over the valid elements (0 where there is none); a valid NaN gives NaN. The gradient
 * goes to the tied arg-min.
 */
export const maskedMin = maskedReduceOp(MASKED_MIN);

/**
 * `log(sum(exp(x)))` over the valid elements, computed stably (shifted by their max, so large
 * logits do not overflow); -Infinity where there is none. The gradient is `dy` times the softmax
 * over the valid elements.
 */
export const maskedLogSumExp = maskedReduceOp(MASKED_LOG_SUM_EXP);

/**
 * `{mean, variance}` of x over the valid elements, like `tf.moments` (population variance,
 * divided by the count), in one numerically stable pass; 0 and 0 where there is no valid element.
 */
export const maskedMoments = maskedMultiOp<'mean' | 'variance'>(MASKED_MOMENTS);
