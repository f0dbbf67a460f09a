// The forward module of moments (docs/SPEC.md "Moments details"): out[o] = the mean and out1[o]
// the population variance of the valid values of each lane of output row o. Compiled like
// sums.ts, its sibling; every output element is written (an empty slice gives 0 and 0).
//
// Shifted sums in one pass: the shift c is the lane's value at the slice's first valid position,
// s1 = sum(x - c), s2 = sum((x - c)^2), mean = c + s1/n, variance = s2/n - (s1/n)^2 (clamped at
// 0). With c a value of the slice, |mean - c| is at most the largest deviation from the mean, so
// the cancellation in the variance follows the spread, not the offset: 1e4 + noise keeps its
// variance (the naive E[x^2] - E[x]^2 loses it entirely in float32). The state per lane is three
// numbers, so the loops go column by column (as logsumexp.ts does): for each group of 4 lanes the
// reduced positions of the output row are walked with the state in registers; no scratch. Masked
// rows are selected away after the subtraction (a masked NaN/Inf never reaches a sum), or skipped
// by a branch when the slice is sparse (rows.ts branchOverMasked).
//
// Accuracy: float32 partials of at most ROWS_PER_PARTIAL rows go into float64 registers (as
// sums.ts does into memory), and the mean and variance are finished in float64. A group whose
// results are not finite (a valid NaN or Inf, or a square overflowing float32) is recomputed lane
// by lane in float64, two passes (exactLane), which also serves every lane the SIMD groups do
// not cover and the scalar modules: it gives the spec's NaN/Inf rules as the reference does.
import { ROWS_PER_PARTIAL } from './constants';
import {
  blockBase,
  countValid,
  fillRow,
  inner,
  keptBase,
  laneCount,
  maskBase,
  maskLanes,
  rows,
  segmentStart,
  segments,
  setBlocks,
  setRuns,
  stride,
  xBase,
} from './layout';
import { branchOverMasked, narrow, nonFiniteLanes, promoteHigh, promoteLow } from './rows';

/** Contiguous reduced axes: x [outer, reduce, mid, inner], mask [outer, reduce, mid]. */
export function reduceBlocks(
  _reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  out1: usize,
  _scratch: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  n: u32,
): void {
  setBlocks(x, mask, n, reduce, mid);
  const outRows = <usize>outer * <usize>mid;
  const rowBytes = (<usize>n) << 2;
  for (let o: usize = 0; o < outRows; o++) {
    const at = o * rowBytes;
    if (ASC_FEATURE_SIMD && n === 1 && mid === 1) {
      momentsAlongTime(out + at, out1 + at, o * <usize>reduce);
    } else {
      momentsRow(out + at, out1 + at, blockBase(o));
    }
  }
}

/** Any axis set: `runs` describes the kept and reduced runs (layout.ts setRuns). */
export function reduceRuns(
  _reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  out1: usize,
  _scratch: usize,
  runs: usize,
  n: u32,
): void {
  const keptSize = setRuns(x, mask, n, runs);
  const rowBytes = (<usize>n) << 2;
  for (let o: u32 = 0; o < keptSize; o++) {
    const at = <usize>o * rowBytes;
    momentsRow(out + at, out1 + at, keptBase(o));
  }
}

/** The output row being reduced: its mask offset, and whether masked rows are branched over. */
let rowBase: usize = 0;
let sparse = false;

/** mean into out, variance into out1; `base` is the row's mask offset. */
function momentsRow(out: usize, out1: usize, base: usize): void {
  const count = countValid(base);
  if (count === 0) {
    fillRow(out, inner, 0);
    fillRow(out1, inner, 0);
    return;
  }
  rowBase = base;
  sparse = branchOverMasked(count);
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const shift = firstValid(base);
    for (; i + 4 <= inner; i += 4) momentsLanes(out, out1, i, shift, count);
  }
  for (; i < inner; i++) exactLane(out, out1, i, count);
}

/** Mask offset of the row's first valid position (count > 0). */
function firstValid(base: usize): usize {
  for (let k: u32 = 0; k < segments; k++) {
    let at = base + segmentStart(k);
    for (let r: u32 = 0; r < rows; r++) {
      if (load<u8>(maskBase + at) !== 0) return at;
      at += stride;
    }
  }
  return base;
}

function momentsLanes(out: usize, out1: usize, i: usize, shift: usize, count: u32): void {
  const rowBytes = inner << 2;
  const xStride = stride * rowBytes;
  const col = xBase + (i << 2);
  const skip = sparse;
  const c = v128.load(col + shift * rowBytes);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let lo1 = f64x2.splat(0);
  let hi1 = f64x2.splat(0);
  let lo2 = f64x2.splat(0);
  let hi2 = f64x2.splat(0);
  let pending: i32 = 0;
  for (let k: u32 = 0; k < segments; k++) {
    const at = rowBase + segmentStart(k);
    let mp = maskBase + at;
    let xp = col + at * rowBytes;
    for (let r: u32 = 0; r < rows; r++) {
      const valid = load<u8>(mp) !== 0;
      if (valid || !skip) {
        const d = v128.and(f32x4.sub(v128.load(xp), c), i32x4.splat(-(<i32>valid)));
        s1 = f32x4.add(s1, d);
        s2 = f32x4.add(s2, f32x4.mul(d, d));
        if (++pending === ROWS_PER_PARTIAL) {
          lo1 = f64x2.add(lo1, promoteLow(s1));
          hi1 = f64x2.add(hi1, promoteHigh(s1));
          lo2 = f64x2.add(lo2, promoteLow(s2));
          hi2 = f64x2.add(hi2, promoteHigh(s2));
          s1 = f32x4.splat(0);
          s2 = f32x4.splat(0);
          pending = 0;
        }
      }
      mp += stride;
      xp += xStride;
    }
  }
  lo1 = f64x2.add(lo1, promoteLow(s1));
  hi1 = f64x2.add(hi1, promoteHigh(s1));
  lo2 = f64x2.add(lo2, promoteLow(s2));
  hi2 = f64x2.add(hi2, promoteHigh(s2));
  const n = f64x2.splat(<f64>count);
  const dlo = f64x2.div(lo1, n);
  const dhi = f64x2.div(hi1, n);
  const mean = narrow(f64x2.add(promoteLow(c), dlo), f64x2.add(promoteHigh(c), dhi));
  const variance = narrow(
    f64x2.sub(f64x2.div(lo2, n), f64x2.mul(dlo, dlo)),
    f64x2.sub(f64x2.div(hi2, n), f64x2.mul(dhi, dhi)),
  );
  // Finite sums give a finite mean and variance; anything else is redone in float64.
  if (v128.any_true(v128.or(nonFiniteLanes(mean), nonFiniteLanes(variance)))) {
    for (let j: usize = 0; j < 4; j++) exactLane(out, out1, i + j, count);
    return;
  }
  v128.store(out + (i << 2), mean);
  // pmax(v, 0) is v < 0 ? 0 : v: rounding cannot make a variance negative.
  v128.store(out1 + (i << 2), f32x4.pmax(variance, f32x4.splat(0)));
}

/**
 * One lane in float64, two passes: the mean, then the mean squared deviation. A valid NaN makes
 * both NaN; a valid Inf makes the mean that Inf (NaN with both signs) and the variance NaN
 * (Inf - Inf); squares beyond float32 give the float32 Inf the true variance rounds to.
 */
function exactLane(out: usize, out1: usize, i: usize, count: u32): void {
  const rowBytes = inner << 2;
  const col = xBase + (i << 2);
  let mean: f64 = 0;
  let sum: f64 = 0;
  for (let pass = 0; pass < 2; pass++) {
    sum = 0;
    for (let k: u32 = 0; k < segments; k++) {
      let at = rowBase + segmentStart(k);
      for (let r: u32 = 0; r < rows; r++) {
        if (load<u8>(maskBase + at) !== 0) {
          const v = <f64>load<f32>(col + at * rowBytes);
          sum += pass === 0 ? v : (v - mean) * (v - mean);
        }
        at += stride;
      }
    }
    if (pass === 0) mean = sum / <f64>count;
  }
  store<f32>(out + (i << 2), <f32>mean);
  store<f32>(out1 + (i << 2), <f32>(sum / <f64>count));
}

// inner == 1 with mid == 1 (the per-token-loss form: every axis reduced, a full-shape mask, or a
// [batch, time] x reduced over time): rows are single floats, so vectorise along the reduced axis
// instead (as sums.ts does), 8 positions a step, masked lanes cleared after the subtraction; the
// same shifted sums, float32 partials into float64, and the same float64 redo (exactLane) when a
// result is not finite. SIMD modules only.

function momentsAlongTime(out: usize, out1: usize, start: usize): void {
  const xp = xBase + (start << 2);
  const mp = maskBase + start;
  const reduce = <usize>rows;
  let first: usize = 0;
  while (first < reduce && load<u8>(mp + first) === 0) first++;
  if (first === reduce) {
    store<f32>(out, 0);
    store<f32>(out1, 0);
    return;
  }
  const c = load<f32>(xp + (first << 2));
  const cv = f32x4.splat(c);
  let sum1: f64 = 0;
  let sum2: f64 = 0;
  let cnt = i32x4.splat(0);
  let r = first;
  while (r + 8 <= reduce) {
    const end = r + min<usize>((reduce - r) & ~(<usize>7), <usize>ROWS_PER_PARTIAL);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    for (; r < end; r += 8) {
      const m0 = maskLanes(mp + r);
      const m1 = maskLanes(mp + r + 4);
      const d0 = v128.and(f32x4.sub(v128.load(xp + (r << 2)), cv), m0);
      const d1 = v128.and(f32x4.sub(v128.load(xp + (r << 2), 16), cv), m1);
      s1 = f32x4.add(s1, f32x4.add(d0, d1));
      s2 = f32x4.add(s2, f32x4.add(f32x4.mul(d0, d0), f32x4.mul(d1, d1)));
      cnt = i32x4.sub(i32x4.sub(cnt, m0), m1);
    }
    const t1 = f64x2.add(promoteLow(s1), promoteHigh(s1));
    const t2 = f64x2.add(promoteLow(s2), promoteHigh(s2));
    sum1 += f64x2.extract_lane(t1, 0) + f64x2.extract_lane(t1, 1);
    sum2 += f64x2.extract_lane(t2, 0) + f64x2.extract_lane(t2, 1);
  }
  let count = laneCount(cnt);
  for (; r < reduce; r++) {
    if (load<u8>(mp + r) !== 0) {
      const d = load<f32>(xp + (r << 2)) - c;
      sum1 += <f64>d;
      sum2 += <f64>(d * d);
      count++;
    }
  }
  const d = sum1 / <f64>count;
  const mean = <f32>(<f64>c + d);
  const variance = <f32>(sum2 / <f64>count - d * d);
  if (mean - mean !== 0 || variance - variance !== 0) {
    rowBase = start;
    exactLane(out, out1, 0, count);
    return;
  }
  store<f32>(out, mean);
  store<f32>(out1, max<f32>(variance, 0));
}
