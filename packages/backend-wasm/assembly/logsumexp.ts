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
