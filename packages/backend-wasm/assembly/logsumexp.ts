// The forward module of logsumexp (docs/SPEC.md "Log-sum-exp details"): out[o] = m + log(sum of
// e^(x - m)) over the valid values of each lane of output row o, m their largest. Compiled like
// sums.ts, its sibling; every output element is written (an empty slice gives -Inf).
//
// Its state per lane is two numbers, so the loops go column by column (as moments.ts does): for
// each group of 4 lanes (then each remaining lane) the reduced positions of the output row are
// walked with the state in registers, and the group is finished before the next starts; no
// scratch. Pass 1 takes m (masked values become -Inf by selection, or are skipped by a branch
// when the slice is sparse, rows.ts branchOverMasked; a valid NaN wins, as for maskedMax). Pass 2 walks the
// same column again, still in cache (a [256, 200, 64] slice is 51 KB), adding e^(x - m) <= 1 at
// the valid positions only: it always branches over masked rows, as the ~40 instructions of an
// exp cost more than a mispredicted branch, and a masked NaN/Inf is never read. Where m is not finite it is the result: -Inf (every valid value -Inf), +Inf (a valid
// +Inf), NaN (a valid NaN).
//
// Accuracy: SIMD lanes add float32 partials of at most ROWS_PER_PARTIAL terms into float64
// registers (as sums.ts does into memory), scalar lanes add in float64. log(sum) is taken in
// float32 (math.ts): sum >= 1 (the max contributes e^0 = 1 exactly), so its error is relative.
import { ROWS_PER_PARTIAL } from './constants';
import {
  blockBase,
  countValid,
  fillRow,
  inner,
  keptBase,
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
import { expLanes, expScalar, logLanes, logScalar } from './math';
import {
  branchOverMasked,
  maxLanes,
  narrow,
  nonFiniteLanes,
  promoteHigh,
  promoteLow,
} from './rows';

/** Contiguous reduced axes: x [outer, reduce, mid, inner], mask [outer, reduce, mid]. */
export function reduceBlocks(
  _reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  _out1: usize,
  _scratch: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  n: u32,
): void {
  setBlocks(x, mask, n, reduce, mid);
  const outRows = <usize>outer * <usize>mid;
  if (ASC_FEATURE_SIMD) {
    if (n === 1 && mid === 1) {
      for (let o: usize = 0; o < outRows; o++) {
        store<f32>(out + (o << 2), logSumExpAlongTime(o * <usize>reduce));
      }
      return;
    }
  }
  const rowBytes = (<usize>n) << 2;
  for (let o: usize = 0; o < outRows; o++) logSumExpRow(out + o * rowBytes, blockBase(o));
}

/** Any axis set: `runs` describes the kept and reduced runs (layout.ts setRuns). */
export function reduceRuns(
  _reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  _out1: usize,
  _scratch: usize,
  runs: usize,
  n: u32,
): void {
  const keptSize = setRuns(x, mask, n, runs);
  const rowBytes = (<usize>n) << 2;
  for (let o: u32 = 0; o < keptSize; o++) logSumExpRow(out + <usize>o * rowBytes, keptBase(o));
}

/** The output row being reduced: its mask offset, and whether masked rows are branched over. */
let rowBase: usize = 0;
let sparse = false;

function logSumExpRow(out: usize, base: usize): void {
  const count = countValid(base);
  if (count === 0) {
    fillRow(out, inner, -Infinity);
    return;
  }
  rowBase = base;
  sparse = branchOverMasked(count);
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= inner; i += 4) logSumExpLanes(out, i);
  }
  for (; i < inner; i++) logSumExpLane(out, i);
}

function logSumExpLanes(out: usize, i: usize): void {
  const rowBytes = inner << 2;
  const xStride = stride * rowBytes;
  const col = xBase + (i << 2);
  const skip = sparse;
  const low = f32x4.splat(-Infinity);
  let m = low;
  for (let k: u32 = 0; k < segments; k++) {
    const at = rowBase + segmentStart(k);
    let mp = maskBase + at;
    let xp = col + at * rowBytes;
    for (let r: u32 = 0; r < rows; r++) {
      const valid = load<u8>(mp) !== 0;
      if (valid || !skip) {
        m = maxLanes(m, v128.bitselect(v128.load(xp), low, i32x4.splat(-(<i32>valid))));
      }
      mp += stride;
      xp += xStride;
    }
  }
  let s = f32x4.splat(0);
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  let pending: i32 = 0;
  for (let k: u32 = 0; k < segments; k++) {
    const at = rowBase + segmentStart(k);
    let mp = maskBase + at;
    let xp = col + at * rowBytes;
    for (let r: u32 = 0; r < rows; r++) {
      const valid = load<u8>(mp) !== 0;
      if (valid) {
        s = f32x4.add(s, expLanes(f32x4.sub(v128.load(xp), m)));
        if (++pending === ROWS_PER_PARTIAL) {
          lo = f64x2.add(lo, promoteLow(s));
          hi = f64x2.add(hi, promoteHigh(s));
          s = f32x4.splat(0);
          pending = 0;
        }
      }
      mp += stride;
      xp += xStride;
    }
  }
  lo = f64x2.add(lo, promoteLow(s));
  hi = f64x2.add(hi, promoteHigh(s));
  const y = f32x4.add(m, logLanes(narrow(lo, hi)));
  v128.store(out + (i << 2), v128.bitselect(m, y, nonFiniteLanes(m)));
}

function logSumExpLane(out: usize, i: usize): void {
  const rowBytes = inner << 2;
  const col = xBase + (i << 2);
  let m: f32 = -Infinity;
  for (let k: u32 = 0; k < segments; k++) {
    let at = rowBase + segmentStart(k);
    for (let r: u32 = 0; r < rows; r++) {
      if (load<u8>(maskBase + at) !== 0) m = max<f32>(m, load<f32>(col + at * rowBytes));
      at += stride;
    }
  }
  let s: f64 = 0;
  for (let k: u32 = 0; k < segments; k++) {
    let at = rowBase + segmentStart(k);
    for (let r: u32 = 0; r < rows; r++) {
      if (load<u8>(maskBase + at) !== 0) s += <f64>expScalar(load<f32>(col + at * rowBytes) - m);
      at += stride;
    }
  }
  store<f32>(out + (i << 2), m - m !== 0 ? m : m + logScalar(<f32>s));
}

// inner == 1 with mid == 1 (the per-token-loss form: every axis reduced, a full-shape mask, or a
// [batch, time] x reduced over time): rows are single floats, so vectorise along the reduced axis
// instead (as sums.ts and extrema.ts do), 8 positions a step with lane masks. Pass 1 takes m by
// selection; pass 2 adds e^(x - m) with masked lanes cleared after the exp (a masked NaN/Inf
// gives a NaN or Inf there, which the AND drops). SIMD modules only.

function logSumExpAlongTime(start: usize): f32 {
  const xp = xBase + (start << 2);
  const mp = maskBase + start;
  const reduce = <usize>rows;
  const low = f32x4.splat(-Infinity);
  let m0 = low;
  let m1 = low;
  let r: usize = 0;
  for (; r + 8 <= reduce; r += 8) {
    m0 = maxLanes(m0, v128.bitselect(v128.load(xp + (r << 2)), low, maskLanes(mp + r)));
    m1 = maxLanes(m1, v128.bitselect(v128.load(xp + (r << 2), 16), low, maskLanes(mp + r + 4)));
  }
  const mv = maxLanes(m0, m1);
  // f32.max gives NaN if either operand is NaN: a valid NaN is the result.
  let m = max<f32>(
    max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
    max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)),
  );
  for (let k = r; k < reduce; k++) {
    if (load<u8>(mp + k) !== 0) m = max<f32>(m, load<f32>(xp + (k << 2)));
  }
  // No valid position or every valid value -Inf: -Inf; a valid +Inf or NaN: itself.
  if (m - m !== 0) return m;
  const shift = f32x4.splat(m);
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  r = 0;
  while (r + 8 <= reduce) {
    const end = r + min<usize>((reduce - r) & ~(<usize>7), <usize>ROWS_PER_PARTIAL);
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    for (; r < end; r += 8) {
      const e0 = expLanes(f32x4.sub(v128.load(xp + (r << 2)), shift));
      const e1 = expLanes(f32x4.sub(v128.load(xp + (r << 2), 16), shift));
      s0 = f32x4.add(s0, v128.and(e0, maskLanes(mp + r)));
      s1 = f32x4.add(s1, v128.and(e1, maskLanes(mp + r + 4)));
    }
    const s = f32x4.add(s0, s1);
    lo = f64x2.add(lo, promoteLow(s));
    hi = f64x2.add(hi, promoteHigh(s));
  }
  const t = f64x2.add(lo, hi);
  let sum = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; r < reduce; r++) {
    if (load<u8>(mp + r) !== 0) sum += <f64>expScalar(load<f32>(xp + (r << 2)) - m);
  }
  return m + logScalar(<f32>sum);
}
