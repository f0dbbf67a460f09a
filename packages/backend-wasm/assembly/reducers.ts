// Everything reducer-specific of the kernels. The loops in rows.ts, reduce.ts and broadcast.ts
// come in two families, chosen by the reducer code:
//   - sums (sum, mean): add the valid rows; mean divides the finished sum by the count;
//   - extrema (max, min): keep the largest valid value per lane; NaN wins (f32.max / f32x4.max
//     propagate it, as docs/SPEC.md asks), the gradient splits dy among the tied positions.
import { REDUCER_MAX, REDUCER_MEAN, REDUCER_MIN } from './constants';

/** Max-like reducers keep an extremum; the others add. */
export function isExtremum(reducer: i32): bool {
  return reducer >= REDUCER_MAX;
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
