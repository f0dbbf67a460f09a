// The forward module of the sum family (sum, mean): out[o] = the sum of the valid rows of output
// row o, divided by their count for a mean (docs/SPEC.md). Compiled by scripts/build-wasm.mjs
// three times (SIMD, SIMD for tfjs's shared heap, scalar); it imports tfjs's WebAssembly.Memory
// and has no data segment and no runtime. Every output element is written, since tfjs does not
// zero an output: an empty slice gives 0. (extrema.ts is its sibling for max/min: one module per
// family keeps each under the 4 KB that Chrome compiles synchronously.)
//
// Accuracy (docs/SPEC.md "Accuracy"): at most ROWS_PER_PARTIAL rows are added in float32 (SIMD),
// then the partial row goes into a float64 accumulator row, so the error grows with the number of
// partials, not of rows. If a partial is not finite (a valid NaN or Inf, or float32 overflow) the
// output row is summed again in float64, a slow path that keeps a finite mean finite
// (mean([3e38, 3e38]) = 3e38) and gives the right Inf or NaN otherwise.
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
  total,
  xBase,
} from './layout';
import { dividesByCount } from './reducers';
import { anyNonFinite, branchOverMasked, sumRows } from './rows';

/**
 * Contiguous reduced axes: x [outer, reduce, mid, inner], mask [outer, reduce, mid]. Every forward
 * module exports reduceBlocks and reduceRuns with the same arguments, so one driver calls them
 * all; `_out1` is the second output of a reducer with two (moments.ts), unused here.
 */
export function reduceBlocks(
  reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  _out1: usize,
  scratch: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  n: u32,
): void {
  setBlocks(x, mask, n, reduce, mid);
  const divide = dividesByCount(reducer);
  const outRows = <usize>outer * <usize>mid;
  if (ASC_FEATURE_SIMD) {
    if (n === 1 && mid === 1) {
      for (let o: usize = 0; o < outRows; o++) {
        store<f32>(out + (o << 2), sumAlongTime(o * <usize>reduce, divide));
      }
      return;
    }
  }
  const rowBytes = (<usize>n) << 2;
  for (let o: usize = 0; o < outRows; o++)
    sumRow(out + o * rowBytes, scratch, blockBase(o), divide);
}

/** Any axis set: `runs` describes the kept and reduced runs (layout.ts setRuns). */
export function reduceRuns(
  reducer: i32,
  x: usize,
  mask: usize,
  out: usize,
  _out1: usize,
  scratch: usize,
  runs: usize,
  n: u32,
): void {
  const keptSize = setRuns(x, mask, n, runs);
  const divide = dividesByCount(reducer);
  const rowBytes = (<usize>n) << 2;
  for (let o: u32 = 0; o < keptSize; o++) {
    sumRow(out + <usize>o * rowBytes, scratch, keptBase(o), divide);
  }
}

function sumRow(out: usize, acc: usize, base: usize, divide: bool): void {
  const count = countValid(base);
  if (count === 0) {
    fillRow(out, inner, 0);
    return;
  }
  const sparse = branchOverMasked(count);
  const divisor = divide ? count : 1;
  const rowBytes = inner << 2;
  const xStride = stride * rowBytes;
  fillRow(out, inner, 0);
  let bad = false;
  if (total <= <u32>ROWS_PER_PARTIAL) {
    for (let k: u32 = 0; k < segments; k++) {
      const at = base + segmentStart(k);
      sumRows(out, xBase + at * rowBytes, maskBase + at, rows, stride, xStride, sparse);
    }
    if (divisor > 1) divideRow(out, <f32>divisor);
    bad = anyNonFinite(out);
  } else {
    for (let i: usize = 0; i < inner; i++) store<f64>(acc + (i << 3), 0);
    let pending: u32 = 0;
    for (let k: u32 = 0; k < segments; k++) {
      const at = base + segmentStart(k);
      for (let r: u32 = 0; r < rows; ) {
        const take = min<u32>(rows - r, <u32>ROWS_PER_PARTIAL - pending);
        const first = at + <usize>r * stride;
        sumRows(out, xBase + first * rowBytes, maskBase + first, take, stride, xStride, sparse);
        r += take;
        pending += take;
        if (pending === <u32>ROWS_PER_PARTIAL) {
          bad = flush(acc, out) || bad;
          pending = 0;
        }
      }
    }
    bad = flush(acc, out) || bad;
    if (!bad) {
      for (let i: usize = 0; i < inner; i++) {
        store<f32>(out + (i << 2), <f32>(load<f64>(acc + (i << 3)) / <f64>divisor));
      }
    }
  }
  if (bad) exactRow(out, base, divisor);
}

/** acc (f64) += partial (f32), then the partial is zeroed. True if the partial was not finite. */
function flush(acc: usize, partial: usize): bool {
  const bad = anyNonFinite(partial);
  for (let i: usize = 0; i < inner; i++) {
    const a = acc + (i << 3);
    store<f64>(a, load<f64>(a) + <f64>load<f32>(partial + (i << 2)));
  }
  fillRow(partial, inner, 0);
  return bad;
}

/** dst[i] /= divisor */
function divideRow(dst: usize, divisor: f32): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const d = f32x4.splat(divisor);
    for (; i + 4 <= inner; i += 4) {
      const p = dst + (i << 2);
      v128.store(p, f32x4.div(v128.load(p), d));
    }
  }
  for (; i < inner; i++) {
    const p = dst + (i << 2);
    store<f32>(p, load<f32>(p) / divisor);
  }
}

/** The slow path: every lane of the row summed in float64, then divided and rounded once. */
function exactRow(out: usize, base: usize, divisor: u32): void {
  const rowBytes = inner << 2;
  for (let i: usize = 0; i < inner; i++) {
    let s: f64 = 0;
    for (let k: u32 = 0; k < segments; k++) {
      let at = base + segmentStart(k);
      for (let r: u32 = 0; r < rows; r++) {
        if (load<u8>(maskBase + at) !== 0) s += <f64>load<f32>(xBase + at * rowBytes + (i << 2));
        at += stride;
      }
    }
    store<f32>(out + (i << 2), <f32>(s / <f64>divisor));
  }
}

// inner == 1 with mid == 1 (a per-token loss [batch, time] with a full-shape mask, or any x
// reduced over all its axes): rows are single floats, so vectorise along the reduced axis
// instead, selecting with lane masks. SIMD modules only; the scalar module takes the row loops.

function sumAlongTime(start: usize, divide: bool): f32 {
  const xp = xBase + (start << 2);
  const mp = maskBase + start;
  const reduce = <usize>rows;
  let s: f64 = 0;
  let cnt = i32x4.splat(0);
  let bad = i32x4.splat(0);
  let r: usize = 0;
  while (r + 8 <= reduce) {
    const end = r + min<usize>((reduce - r) & ~(<usize>7), <usize>ROWS_PER_PARTIAL);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    for (; r < end; r += 8) {
      const m0 = maskLanes(mp + r);
      const m1 = maskLanes(mp + r + 4);
      acc0 = f32x4.add(acc0, v128.and(v128.load(xp + (r << 2)), m0));
      acc1 = f32x4.add(acc1, v128.and(v128.load(xp + (r << 2), 16), m1));
      cnt = i32x4.sub(i32x4.sub(cnt, m0), m1);
    }
    const acc = f32x4.add(acc0, acc1);
    bad = v128.or(bad, f32x4.ne(f32x4.sub(acc, acc), f32x4.splat(0)));
    s +=
      <f64>f32x4.extract_lane(acc, 0) +
      <f64>f32x4.extract_lane(acc, 1) +
      (<f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3));
  }
  let count = laneCount(cnt);
  for (; r < reduce; r++) {
    if (load<u8>(mp + r) !== 0) {
      s += <f64>load<f32>(xp + (r << 2));
      count++;
    }
  }
  if (count === 0) return 0;
  if (v128.any_true(bad)) {
    // A partial was not finite: the slow path, every valid value added in float64.
    s = 0;
    for (r = 0; r < reduce; r++) {
      if (load<u8>(mp + r) !== 0) s += <f64>load<f32>(xp + (r << 2));
    }
  }
  return <f32>(divide ? s / <f64>count : s);
}
