// The masked softmaxes' forward module (docs/SPEC.md "Masked softmax"): softmax or log-softmax
// of every row (softmax_rows.ts: the layout, the SIMD and scalar loops, the exp). Pass 1 takes
// the largest valid value m (masked values become -Inf by selection, so a masked NaN/Inf never
// enters) and whether the row has a valid position; pass 2 writes e = exp(x - m) (0 at masked
// positions, by selection) into the output and sums it; pass 3 scales the row by 1/sum (softmax)
// or writes (x - m) - log(sum) (log), -Inf at masked positions. The row (16 KB at n = 4,096)
// stays in cache between the passes, so the logits are fetched from memory once. A row with no
// valid position is zeros; one with a valid NaN or +Inf is NaN at its valid positions.
import { maskLanes } from './layout';
import { logScalar } from './math';
import { maxLanes, promoteHigh, promoteLow } from './rows';
import {
  BLOCK,
  expNeg,
  expNegLanes,
  fillRow,
  horizontalSum,
  rowLanes,
  rowMask,
  setDims,
} from './softmax_rows';

function anyValid(mp: usize, n: usize, ms: usize): bool {
  for (let k: usize = 0; k < n; k++) if (load<u8>(mp + k * ms) !== 0) return true;
  return false;
}

/** e at one position of a row's last partial step (0 past the row's end or where masked). */
function tailE(xp: usize, yp: usize, mp: usize, j: usize, r: usize, ms: usize, shift: f32): f32 {
  if (j >= r) return 0;
  const e: f32 = load<u8>(mp + j * ms) !== 0 ? expNeg(load<f32>(xp + (j << 2)) - shift) : 0;
  store<f32>(yp + (j << 2), e);
  return e;
}

/**
 * The last step of a row whose length is not a multiple of 8: its r < 8 values of e stored and
 * returned as the two lane vectors e0 + e1 a full step would add (the scalar exp gives the same
 * bits as the lanes').
 */
function tailStep(xp: usize, yp: usize, mp: usize, r: usize, ms: usize, shift: f32): v128 {
  let e0 = f32x4.splat(0);
  let e1 = f32x4.splat(0);
  e0 = f32x4.replace_lane(e0, 0, tailE(xp, yp, mp, 0, r, ms, shift));
  e0 = f32x4.replace_lane(e0, 1, tailE(xp, yp, mp, 1, r, ms, shift));
  e0 = f32x4.replace_lane(e0, 2, tailE(xp, yp, mp, 2, r, ms, shift));
  e0 = f32x4.replace_lane(e0, 3, tailE(xp, yp, mp, 3, r, ms, shift));
  e1 = f32x4.replace_lane(e1, 0, tailE(xp, yp, mp, 4, r, ms, shift));
  e1 = f32x4.replace_lane(e1, 1, tailE(xp, yp, mp, 5, r, ms, shift));
  e1 = f32x4.replace_lane(e1, 2, tailE(xp, yp, mp, 6, r, ms, shift));
  return f32x4.add(e0, e1);
}

function forwardRow(
  xp: usize,
  yp: usize,
  mp: usize,
  n: usize,
  xs: usize,
  ms: usize,
  log: bool,
): void {
  const simd = ASC_FEATURE_SIMD && xs === 4;
  // Pass 1: m, NaN if any valid value is NaN.
  let m: f32 = -Infinity;
  let k: usize = 0;
  if (simd) {
    const low = f32x4.splat(-Infinity);
    const uniform = rowLanes(mp);
    let mv = low;
    let mv1 = low;
    // Two independent maxima (8 elements a step): the max's dependency chain is the bound.
    for (; k + 8 <= n; k += 8) {
      let l0 = uniform;
      let l1 = uniform;
      if (ms !== 0) {
        const nz = i16x8.ne(v128.load8x8_u(mp + k), i16x8.splat(0));
        l0 = i32x4.extend_low_i16x8_s(nz);
        l1 = i32x4.extend_high_i16x8_s(nz);
      }
      const p = xp + (k << 2);
      mv = maxLanes(mv, v128.bitselect(v128.load(p), low, l0));
      mv1 = maxLanes(mv1, v128.bitselect(v128.load(p, 16), low, l1));
    }
    mv = maxLanes(mv, mv1);
    mv = maxLanes(mv, v128.shuffle<f32>(mv, mv, 2, 3, 0, 1));
    mv = maxLanes(mv, v128.shuffle<f32>(mv, mv, 1, 0, 3, 2));
    m = f32x4.extract_lane(mv, 0);
  }
  for (; k < n; k++) {
    if (load<u8>(mp + k * ms) !== 0) m = max<f32>(m, load<f32>(xp + k * xs));
  }
  const masked: f32 = log ? -Infinity : 0;
  // m is -Inf both for a row with no valid position and for one whose valid values are all
  // -Inf; only then are the mask bytes scanned to tell them apart.
  if (m === -Infinity && !anyValid(mp, n, ms)) {
    fillRow(yp, mp, n, xs, ms, 0, 0);
    return;
  }
  if (m - m !== 0 && m !== -Infinity) {
    // A valid NaN or +Inf: NaN at the valid positions.
    fillRow(yp, mp, n, xs, ms, NaN, masked);
    return;
  }
  // Every valid value -Inf: shift by 0 (x - m would be NaN), so e = 0 and the sum is 0.
  const shift: f32 = m === -Infinity ? 0 : m;
  // Pass 2: e into the output, and its sum (>= 1 when m is finite: e^0 = 1 exactly). The SIMD
  // path folds the last, partial step of 8 into the same lanes and block as a full one (missing
  // positions add +0, which is exact), so the sum of a row is bitwise the same whatever padding
  // follows its valid positions: a padded batch gives each real query exactly the output of its
  // unpadded sequence (the demo's attention test).
  let sum: f64 = 0;
  k = 0;
  if (simd) {
    const uniform = rowLanes(mp);
    const sv = f32x4.splat(shift);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    const steps = (n + 7) & ~7;
    while (k < steps) {
      const end = steps - k > BLOCK ? k + BLOCK : steps;
      let s = f32x4.splat(0);
      for (; k < end; k += 8) {
        if (k + 8 > n) {
          s = f32x4.add(s, tailStep(xp + (k << 2), yp + (k << 2), mp + k * ms, n - k, ms, shift));
          k = steps; // the row's last step
          break;
        }
        let l0 = uniform;
        let l1 = uniform;
        if (ms !== 0) {
          const nz = i16x8.ne(v128.load8x8_u(mp + k), i16x8.splat(0));
          l0 = i32x4.extend_low_i16x8_s(nz);
          l1 = i32x4.extend_high_i16x8_s(nz);
        }
        const p = xp + (k << 2);
        const q = yp + (k << 2);
        const e0 = v128.and(expNegLanes(f32x4.sub(v128.load(p), sv)), l0);
        const e1 = v128.and(expNegLanes(f32x4.sub(v128.load(p, 16), sv)), l1);
        v128.store(q, e0);
        v128.store(q, e1, 16);
        s = f32x4.add(s, f32x4.add(e0, e1));
      }
      lo = f64x2.add(lo, promoteLow(s));
      hi = f64x2.add(hi, promoteHigh(s));
    }
    sum = horizontalSum(lo, hi);
    k = n;
  }
  for (; k < n; k++) {
    let e: f32 = 0;
    if (load<u8>(mp + k * ms) !== 0) e = expNeg(load<f32>(xp + k * xs) - shift);
    store<f32>(yp + k * xs, e);
    sum += e;
  }
  // Pass 3.
  k = 0;
  if (!log) {
    // e is 0 at masked positions, so scaling needs no mask; 1/sum rounded once (sum 0: zeros).
    const r: f32 = sum > 0 ? <f32>(1 / sum) : 0;
    if (simd) {
      const rv = f32x4.splat(r);
      for (; k + 8 <= n; k += 8) {
        const p = yp + (k << 2);
        v128.store(p, f32x4.mul(v128.load(p), rv));
        v128.store(p, f32x4.mul(v128.load(p, 16), rv), 16);
      }
    }
    for (; k < n; k++) store<f32>(yp + k * xs, load<f32>(yp + k * xs) * r);
    return;
  }
  // log(sum) (sum >= 1), or 0 for an all -Inf row (x - 0 - 0 = -Inf at its valid positions).
  const s32 = <f32>sum;
  const lse: f32 = s32 > 0 ? logScalar(s32) : 0;
  if (simd) {
    const uniform = rowLanes(mp);
    const sv = f32x4.splat(shift);
    const lv = f32x4.splat(lse);
    const low = f32x4.splat(-Infinity);
    for (; k + 4 <= n; k += 4) {
      let lanes = uniform;
      if (ms !== 0) lanes = maskLanes(mp + k);
      const y = f32x4.sub(f32x4.sub(v128.load(xp + (k << 2)), sv), lv);
      v128.store(yp + (k << 2), v128.bitselect(y, low, lanes));
    }
  }
  for (; k < n; k++) {
    const y = load<f32>(xp + k * xs) - shift - lse;
    store<f32>(yp + k * xs, load<u8>(mp + k * ms) !== 0 ? y : masked);
  }
}

/** Forward of every row: softmax (log 0) or log-softmax (log 1) of x into out. */
export function softmaxForward(
  log: i32,
  x: usize,
  mask: usize,
  out: usize,
  dims: usize,
  outer: u32,
  n: u32,
  inner: u32,
  maskAxisStride: u32,
): void {
  setDims(dims);
  const xs = (<usize>inner) << 2;
  const rowBytes = <usize>n * xs;
  for (let o: u32 = 0; o < outer; o++) {
    for (let i: u32 = 0; i < inner; i++) {
      const at = <usize>o * rowBytes + ((<usize>i) << 2);
      forwardRow(x + at, out + at, rowMask(mask, o, i), <usize>n, xs, maskAxisStride, log !== 0);
    }
  }
}
