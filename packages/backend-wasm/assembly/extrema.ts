// The forward module of the extrema (max, min): out[o] = the largest valid value of output row o
// per lane, the smallest for min (the values' sign flipped, see reducers.ts). A masked value is
// replaced by -Inf by selection (v128.bitselect) and the lane maximum (rows.ts maxLanes) and
// f32.max propagate a valid NaN, as docs/SPEC.md asks; an empty slice gives 0. Compiled like sums.ts, its sibling module.
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
import { signFlip } from './reducers';
import { branchOverMasked, maxLanes, maxRows } from './rows';

/** Contiguous reduced axes: x [outer, reduce, mid, inner], mask [outer, reduce, mid]. */
export function reduceBlocks(
  reducer: i32,
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
  const flip = signFlip(reducer);
  const outRows = <usize>outer * <usize>mid;
  if (ASC_FEATURE_SIMD) {
    if (n === 1 && mid === 1) {
      for (let o: usize = 0; o < outRows; o++) {
        store<f32>(out + (o << 2), extremumAlongTime(o * <usize>reduce, flip));
      }
      return;
    }
  }
  const rowBytes = (<usize>n) << 2;
  for (let o: usize = 0; o < outRows; o++) extremumRow(out + o * rowBytes, blockBase(o), flip);
}

/** Any axis set: `runs` describes the kept and reduced runs (layout.ts setRuns). */
export function reduceRuns(
  reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  _out1: usize,
  _scratch: usize,
  runs: usize,
  n: u32,
): void {
  const keptSize = setRuns(x, mask, n, runs);
  const flip = signFlip(reducer);
  const rowBytes = (<usize>n) << 2;
  for (let o: u32 = 0; o < keptSize; o++) extremumRow(out + <usize>o * rowBytes, keptBase(o), flip);
}

function extremumRow(out: usize, base: usize, flip: i32): void {
  const count = countValid(base);
  if (count === 0) {
    fillRow(out, inner, 0);
    return;
  }
  const sparse = branchOverMasked(count);
  const rowBytes = inner << 2;
  const xStride = stride * rowBytes;
  fillRow(out, inner, -Infinity);
  for (let k: u32 = 0; k < segments; k++) {
    const at = base + segmentStart(k);
    maxRows(out, xBase + at * rowBytes, maskBase + at, rows, stride, xStride, sparse, flip);
  }
  if (flip !== 0) {
    for (let i: usize = 0; i < inner; i++) {
      const p = out + (i << 2);
      store<i32>(p, load<i32>(p) ^ flip);
    }
  }
}

// inner == 1 with mid == 1: vectorise along the reduced axis (SIMD modules only).

function extremumAlongTime(start: usize, flip: i32): f32 {
  const xp = xBase + (start << 2);
  const mp = maskBase + start;
  const reduce = <usize>rows;
  const f = i32x4.splat(flip);
  const low = f32x4.splat(-Infinity);
  let best0 = low;
  let best1 = low;
  let cnt = i32x4.splat(0);
  let r: usize = 0;
  for (; r + 8 <= reduce; r += 8) {
    const m0 = maskLanes(mp + r);
    const m1 = maskLanes(mp + r + 4);
    best0 = maxLanes(best0, v128.bitselect(v128.xor(v128.load(xp + (r << 2)), f), low, m0));
    best1 = maxLanes(best1, v128.bitselect(v128.xor(v128.load(xp + (r << 2), 16), f), low, m1));
    cnt = i32x4.sub(i32x4.sub(cnt, m0), m1);
  }
  const best = maxLanes(best0, best1);
  let value = max<f32>(
    max<f32>(f32x4.extract_lane(best, 0), f32x4.extract_lane(best, 1)),
    max<f32>(f32x4.extract_lane(best, 2), f32x4.extract_lane(best, 3)),
  );
  let count = laneCount(cnt);
  for (; r < reduce; r++) {
    if (load<u8>(mp + r) !== 0) {
      value = max<f32>(value, reinterpret<f32>(load<i32>(xp + (r << 2)) ^ flip));
      count++;
    }
  }
  return count === 0 ? 0 : reinterpret<f32>(reinterpret<i32>(value) ^ flip);
}
