import { maskedReduceOp } from './masked_reduce.js';
import { MASKED_MAX, MASKED_MEAN, MASKED_MIN, MASKED_SUM } from './table.js';

/*
 * The exported ops, one line per table row. Every one: `op(x, mask, axis?, keepDims = false)`,
 * float32 result; `mask.shape` equals the leading dims of `x.shape` (bool, int32 or float32,
 * non-zero = valid); `axis` (default: every mask axis) must be mask axes; masked elements are
 * selected away, so NaN/Inf there never leak; a slice with no valid element gives 0. See
 * docs/SPEC.md for each op's semantics and gradient.
 */

/** Sum of x over `axis`, counting only the elements where `mask` is non-zero. */
export const maskedSum = maskedReduceOp(MASKED_SUM);

/**
 * Mean of x over `axis`, counting only the elements where `mask` is non-zero (divides by the
 * number of valid elements; 0 where there is none).
 */
export const maskedMean = maskedReduceOp(MASKED_MEAN);

/** Max of x over the valid elements; a valid NaN gives NaN. The gradient goes to the tied arg-max. */
export const maskedMax = maskedReduceOp(MASKED_MAX);

/** Min of x over the valid elements; a valid NaN gives NaN. The gradient goes to the tied arg-min. */
export const maskedMin = maskedReduceOp(MASKED_MIN);
