// Everything reducer-specific of the kernels. The loops in rows.ts, sums.ts, extrema.ts,
// logsumexp.ts, moments.ts and broadcast.ts come in three families, chosen by the reducer code:
//   - sums (sum, mean): add the valid rows; mean divides the finished sum by the count;
//   - extrema (max, min): keep the largest valid value per lane; NaN wins (f32.max / f32x4.max
//     propagate it, as docs/SPEC.md asks), the gradient splits dy among the tied positions;
//   - statistics (logsumexp, moments): a state of several numbers per lane (max and sum of
//     e^(x - max); shift and shifted sums), one forward module each, walked column by column;
//     the gradient is a formula of dy (and dy1), x and y at each valid position.
import {
  REDUCER_LOGSUMEXP,
  REDUCER_MAX,
  REDUCER_MEAN,
  REDUCER_MIN,
  REDUCER_MOMENTS,
} from './constants';

/** Max-like reducers keep an extremum. */
export function isExtremum(reducer: i32): bool {
  return reducer === REDUCER_MAX || reducer === REDUCER_MIN;
}

/** The statistics: their gradient is a formula per position, not dy / d. */
export function isStatistic(reducer: i32): bool {
  return reducer >= REDUCER_LOGSUMEXP;
}

/** The sum is divided by the number of valid rows (forward), dy likewise (gradient). */
export function dividesByCount(reducer: i32): bool {
  return reducer === REDUCER_MEAN;
}

/**
 * Bits XORed into every value read and into the result, so that one max loop serves every
 * extremum: a reducer that wants the minimum flips the sign (min(x) = -max(-x), exact, NaN stays
 * NaN). 0 for max.
 */
export function signFlip(reducer: i32): i32 {
  return reducer === REDUCER_MIN ? 0x80000000 : 0;
}

/** Moments have two outputs (mean, variance); logsumexp has one. */
export function isMoments(reducer: i32): bool {
  return reducer === REDUCER_MOMENTS;
}
