// The gradient module (every reducer). Sums and extrema: dx[m] = valid ? dy[o] / d : 0 at each
// position m of output row o, with d = 1 (sum), the valid count (mean), or, for an extremum, the
// number of tied valid positions of that lane (x == y, or both NaN), and 0 at untied positions
// too. Statistics: dx[m] = valid ? f(dy, dy1, x, y) : 0 with f per reducer (formulaRow). Compiled
// like sums.ts. Every dx element is written (tfjs does not zero outputs).
//
// The divisor row needs no scratch: it is built in the row's first dx row, turned into dy / d
// there, and serves as the source while the other rows are written last to first; the first row
// is written (selected from itself) last.
import {
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
import { expLanes, expScalar } from './math';
import { dividesByCount, isExtremum, isMoments, isStatistic } from './reducers';
import { tied, tiedLanes } from './rows';

let dyBase: usize = 0;
let dy1Base: usize = 0;
let yBase: usize = 0;
let dxBase: usize = 0;

/**
 * x and y are 0 for reducers that do not read them (sum, mean); dy1 (the cotangent of the second
 * output, keepDims layout) is 0 for every reducer but moments.
 */
export function broadcastBlocks(
  reducer: i32,
  dy: usize,
  dy1: usize,
  mask: usize,
  x: usize,
  y: usize,
  dx: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  n: u32,
): void {
  dyBase = dy;
  dy1Base = dy1;
  yBase = y;
  dxBase = dx;
  setBlocks(x, mask, n, reduce, mid);
  if (ASC_FEATURE_SIMD) {
    // The statistics take the row loops (their formula is per position anyway).
    if (n === 1 && mid === 1 && !isStatistic(reducer)) {
      for (let o: u32 = 0; o < outer; o++) broadcastAlongTime(reducer, o);
      return;
    }
  }
  for (let o: u32 = 0; o < outer; o++) {
    for (let m: u32 = 0; m < mid; m++) {
      const row = <usize>o * <usize>mid + <usize>m;
      broadcastRow(reducer, row, <usize>o * <usize>reduce * <usize>mid + m);
    }
  }
}

export function broadcastRuns(
  reducer: i32,
  dy: usize,
  dy1: usize,
  mask: usize,
  x: usize,
  y: usize,
  dx: usize,
  runs: usize,
  n: u32,
): void {
  dyBase = dy;
  dy1Base = dy1;
  yBase = y;
  dxBase = dx;
  const keptSize = setRuns(x, mask, n, runs);
  for (let o: u32 = 0; o < keptSize; o++) broadcastRow(reducer, <usize>o, keptBase(o));
}

function broadcastRow(reducer: i32, o: usize, base: usize): void {
  if (isStatistic(reducer)) {
    formulaRow(reducer, o, base);
    return;
  }
  const rowBytes = inner << 2;
  const first = dxBase + base * rowBytes;
  const dyRow = dyBase + o * rowBytes;
  const yRow = yBase + o * rowBytes;
  const extremum = isExtremum(reducer);
  if (extremum) {
    // Ties per lane, counted into the first dx row.
    fillRow(first, inner, 0);
    for (let k: u32 = 0; k < segments; k++) {
      let at = base + segmentStart(k);
      for (let r: u32 = 0; r < rows; r++) {
        if (load<u8>(maskBase + at) !== 0) countTies(first, xBase + at * rowBytes, yRow);
        at += stride;
      }
    }
  } else {
    fillRow(first, inner, dividesByCount(reducer) ? <f32>countValid(base) : 1);
  }
  // first = dy / d. Where d is 0 (an empty slice, an untied lane) no position selects it.
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= inner; i += 4) {
      const p = first + (i << 2);
      v128.store(p, f32x4.div(v128.load(dyRow + (i << 2)), v128.load(p)));
    }
  }
  for (; i < inner; i++) {
    const p = first + (i << 2);
    store<f32>(p, load<f32>(dyRow + (i << 2)) / load<f32>(p));
  }
  for (let k = <i32>segments - 1; k >= 0; k--) {
    const start = base + segmentStart(<u32>k);
    for (let r = <i32>rows - 1; r >= 0; r--) {
      const at = start + <usize>r * stride;
      const valid = load<u8>(maskBase + at) !== 0;
      writeRow(dxBase + at * rowBytes, first, valid, extremum, xBase + at * rowBytes, yRow);
    }
  }
}

/** counts[i] += x[i] tied with y[i] ? 1 : 0 */
function countTies(counts: usize, xp: usize, yp: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= inner; i += 4) {
      const c = counts + (i << 2);
      const t = tiedLanes(v128.load(xp + (i << 2)), v128.load(yp + (i << 2)));
      v128.store(c, f32x4.add(v128.load(c), v128.and(one, t)));
    }
  }
  for (; i < inner; i++) {
    const c = counts + (i << 2);
    if (tied(load<f32>(xp + (i << 2)), load<f32>(yp + (i << 2)))) store<f32>(c, load<f32>(c) + 1);
  }
}

/** dst[i] = valid && (!extremum || x[i] tied with y[i]) ? q[i] : 0 (dst may equal q). */
function writeRow(dst: usize, q: usize, valid: bool, extremum: bool, xp: usize, yp: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const sel = i32x4.splat(-(<i32>valid));
    if (extremum && valid) {
      for (; i + 4 <= inner; i += 4) {
        const t = tiedLanes(v128.load(xp + (i << 2)), v128.load(yp + (i << 2)));
        v128.store(dst + (i << 2), v128.and(v128.load(q + (i << 2)), t));
      }
    } else {
      for (; i + 4 <= inner; i += 4) {
        v128.store(dst + (i << 2), v128.and(v128.load(q + (i << 2)), sel));
      }
    }
  }
  for (; i < inner; i++) {
    const keep = valid && (!extremum || tied(load<f32>(xp + (i << 2)), load<f32>(yp + (i << 2))));
    store<f32>(dst + (i << 2), select<f32>(load<f32>(q + (i << 2)), 0, keep));
  }
}

// ---------------------------------------------------------------------------------------------
// The statistics' gradients (docs/SPEC.md), at each valid position, 0 elsewhere:
//   logsumexp: dy * e^(x - y), and 0 where y is -Inf (an empty slice, or every valid x -Inf:
//     e^(x - y) would be e^Inf or e^NaN there); at a valid +Inf, x - y is NaN and so is dx;
//   moments: (dy + 2 dy1 (x - y)) / count, y the mean, dy1 the cotangent of the variance, as
//     dy / count + c (x - y) with c = 2 dy1 / count (the scale first, so that values near
//     float32's limit do not overflow on the way). tfjs passes a zero cotangent for an unused
//     output, and an unused variance must not turn the mean's gradient into NaN where x - y is
//     not finite (0 * Inf): its term is selected away where c is 0.

function formulaRow(reducer: i32, o: usize, base: usize): void {
  const rowBytes = inner << 2;
  const moments = isMoments(reducer);
  const at0 = o * rowBytes;
  // Unused (count 0) when the slice is empty: no position is valid.
  const scale: f32 = moments ? 1 / <f32>countValid(base) : 1;
  for (let k: u32 = 0; k < segments; k++) {
    let at = base + segmentStart(k);
    for (let r: u32 = 0; r < rows; r++) {
      const dst = dxBase + at * rowBytes;
      if (load<u8>(maskBase + at) !== 0) {
        formulaLanes(dst, xBase + at * rowBytes, at0, moments, scale);
      } else {
        fillRow(dst, inner, 0);
      }
      at += stride;
    }
  }
}

/** One valid dx row; `at0` is the byte offset of the output row in dy, dy1 and y. */
function formulaLanes(dst: usize, xp: usize, at0: usize, moments: bool, scale: f32): void {
  const dyp = dyBase + at0;
  const dy1p = dy1Base + at0;
  const yp = yBase + at0;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(scale);
    const twice = f32x4.splat(scale + scale);
    const empty = f32x4.splat(-Infinity);
    const zero = f32x4.splat(0);
    for (; i + 4 <= inner; i += 4) {
      const b = i << 2;
      const diff = f32x4.sub(v128.load(xp + b), v128.load(yp + b));
      const dy = v128.load(dyp + b);
      let v: v128;
      if (moments) {
        const c = f32x4.mul(v128.load(dy1p + b), twice);
        v = f32x4.add(f32x4.mul(dy, sv), v128.and(f32x4.mul(c, diff), f32x4.ne(c, zero)));
      } else {
        v = v128.and(f32x4.mul(dy, expLanes(diff)), f32x4.ne(v128.load(yp + b), empty));
      }
      v128.store(dst + b, v);
    }
  }
  for (; i < inner; i++) {
    const b = i << 2;
    const y = load<f32>(yp + b);
    const diff = load<f32>(xp + b) - y;
    const dy = load<f32>(dyp + b);
    let v: f32;
    if (moments) {
      const c = load<f32>(dy1p + b) * (scale + scale);
      v = dy * scale + (c !== 0 ? c * diff : 0);
    } else {
      v = y === -Infinity ? 0 : dy * expScalar(diff);
    }
    store<f32>(dst + b, v);
  }
}

// ---------------------------------------------------------------------------------------------
// inner == 1 with mid == 1: dx rows are single floats, so vectorise along the reduced axis.

function broadcastAlongTime(reducer: i32, o: u32): void {
  const reduce = <usize>rows;
  const start = <usize>o * reduce;
  const mp = maskBase + start;
  const xp = xBase + (start << 2);
  const dxp = dxBase + (start << 2);
  const extremum = isExtremum(reducer);
  const y = extremum ? load<f32>(yBase + ((<usize>o) << 2)) : 0;
  const yv = f32x4.splat(y);
  // Positions that receive dy: valid ones, and for an extremum only the tied ones.
  let cnt = i32x4.splat(0);
  let r: usize = 0;
  for (; r + 4 <= reduce; r += 4) {
    let m = maskLanes(mp + r);
    if (extremum) m = v128.and(m, tiedLanes(v128.load(xp + (r << 2)), yv));
    cnt = i32x4.sub(cnt, m);
  }
  let count = laneCount(cnt);
  for (; r < reduce; r++) {
    count += <u32>(load<u8>(mp + r) !== 0 && (!extremum || tied(load<f32>(xp + (r << 2)), y)));
  }
  const d: f32 = extremum || dividesByCount(reducer) ? <f32>count : 1;
  // With count === 0 no position is selected and q never reaches dx.
  const q: f32 = load<f32>(dyBase + ((<usize>o) << 2)) / d;
  const qv = f32x4.splat(q);
  for (r = 0; r + 4 <= reduce; r += 4) {
    let m = maskLanes(mp + r);
    if (extremum) m = v128.and(m, tiedLanes(v128.load(xp + (r << 2)), yv));
    v128.store(dxp + (r << 2), v128.and(qv, m));
  }
  for (; r < reduce; r++) {
    const keep = load<u8>(mp + r) !== 0 && (!extremum || tied(load<f32>(xp + (r << 2)), y));
    store<f32>(dxp + (r << 2), select<f32>(q, 0, keep));
  }
}
