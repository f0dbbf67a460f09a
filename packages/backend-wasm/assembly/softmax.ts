// The masked softmaxes' forward module (docs/SPEC.md "Masked softmax"): softmax or log-softmax
// of every row (softmax_rows.ts: the layout, the row cursor, the exp). Where the mask varies
// along the row, the row's end is found first, from the mask alone (rowEnd: past its last valid
// position); the passes stop there, so trailing padding is neither read nor given an exp. Pass 1
// takes the largest valid value m and writes the row into the output with -Inf at masked
// positions (the mask is read once more; a masked NaN/Inf never enters); pass 2 writes
// e = exp(v - m) (0 at -Inf) into the output and sums it; pass 3 writes the masked value after
// the end and scales the row by 1/sum (softmax) or writes (v - m) - log(sum) (log). The row
// (16 KB at n = 4,096) stays in cache between the passes, so the logits are fetched from memory
// once. A row with no valid position is zeros; one with a valid NaN or +Inf is NaN at its valid
// positions.
import { logScalar } from './math';
import { promoteHigh, promoteLow } from './rows';
import {
  BLOCK,
  expNeg,
  expNegWith,
  fillRow,
  horizontalSum,
  nextInner,
  nextOuter,
  setDims,
  storeExpConstants,
} from './softmax_rows';

/** Where this call's exp constants are (the scratch after the dims table). */
let expConstants: usize = 0;

/**
 * Set by maxPass: every position of the row at or after it is masked (0 for a row with no valid
 * position). Padded rows end there: passes 2 and 3 stop at it, so trailing padding (key padding,
 * a causal mask's upper triangle) costs no exp.
 */
let validEnd: usize = 0;

/** The lanes of 16 positions from 16 mask bytes, all ones where masked (eq: ne is 3 ops). */
function maskedLanes16(mp: usize): v128 {
  return i8x16.eq(v128.load(mp), i8x16.splat(0));
}

/** Byte lanes 4q..4q+3 of `b` widened to 32-bit lanes (sign kept, so all ones stay all ones). */
function quarter(b: v128, q: i32): v128 {
  const h = q < 2 ? i16x8.extend_low_i8x16_s(b) : i16x8.extend_high_i8x16_s(b);
  return (q & 1) === 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h);
}

/**
 * Where the valid positions of a row whose mask varies end: past the last step of 16 holding one,
 * or past the last one in the partial step after the whole steps (rows walked by the SIMD loops);
 * past the last one (other rows). Found from the end, reading only the mask, so a padded tail
 * costs neither a read of x nor a write in pass 1 (its output is written once, in pass 3).
 */
function rowEnd(mp: usize, n: usize, ms: usize, simd: bool): usize {
  const whole = simd ? n & ~15 : 0;
  for (let j = n; j > whole; j--) if (load<u8>(mp + (j - 1) * ms) !== 0) return j;
  let k = whole;
  if (ASC_FEATURE_SIMD) while (k > 0 && !v128.any_true(v128.load(mp + k - 16))) k -= 16;
  return k;
}

/**
 * Pass 1 of a row, up to validEnd: its largest valid value, ignoring NaN (pmax keeps the
 * accumulator when either is NaN; a valid NaN is caught by pass 2's sum). Where the mask varies
 * along the row (ms != 0) the row's values go into y with -Inf at masked positions, so passes 2
 * and 3 read y and never the mask (a masked NaN or Inf is gone from then on); where it does not,
 * the caller reads x.
 */
function maxPass(xp: usize, yp: usize, mp: usize, n: usize, xs: usize, ms: usize): f32 {
  let m: f32 = -Infinity;
  let k: usize = 0;
  const simd = ASC_FEATURE_SIMD && xs === 4;
  const end = ms === 0 ? n : rowEnd(mp, n, ms, simd);
  if (simd) {
    const low = f32x4.splat(-Infinity);
    let m0 = low;
    let m1 = low;
    let m2 = low;
    let m3 = low;
    // Four independent maxima, 16 elements a step: the max's dependency chain is the bound.
    if (ms === 0) {
      for (; k + 16 <= end; k += 16) {
        const p = xp + (k << 2);
        m0 = f32x4.pmax(m0, v128.load(p));
        m1 = f32x4.pmax(m1, v128.load(p, 16));
        m2 = f32x4.pmax(m2, v128.load(p, 32));
        m3 = f32x4.pmax(m3, v128.load(p, 48));
      }
    } else {
      for (; k + 16 <= end; k += 16) {
        const b = maskedLanes16(mp + k);
        const q = yp + (k << 2);
        if (i8x16.all_true(b)) {
          // Padding: -Inf, nothing for the max.
          v128.store(q, low);
          v128.store(q, low, 16);
          v128.store(q, low, 32);
          v128.store(q, low, 48);
          continue;
        }
        const p = xp + (k << 2);
        let v0 = v128.load(p);
        let v1 = v128.load(p, 16);
        let v2 = v128.load(p, 32);
        let v3 = v128.load(p, 48);
        // A step with no masked position (most steps of a key-padding row) is copied as is: the
        // selects cost about 3% of the forward when every key is valid.
        if (v128.any_true(b)) {
          v0 = v128.bitselect(low, v0, quarter(b, 0));
          v1 = v128.bitselect(low, v1, quarter(b, 1));
          v2 = v128.bitselect(low, v2, quarter(b, 2));
          v3 = v128.bitselect(low, v3, quarter(b, 3));
        }
        v128.store(q, v0);
        v128.store(q, v1, 16);
        v128.store(q, v2, 32);
        v128.store(q, v3, 48);
        m0 = f32x4.pmax(m0, v0);
        m1 = f32x4.pmax(m1, v1);
        m2 = f32x4.pmax(m2, v2);
        m3 = f32x4.pmax(m3, v3);
      }
    }
    m0 = f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3));
    m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
    m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 1, 0, 3, 2));
    m = f32x4.extract_lane(m0, 0);
  }
  for (; k < end; k++) {
    let v = load<f32>(xp + k * xs);
    if (ms !== 0) {
      if (load<u8>(mp + k * ms) === 0) v = -Infinity;
      store<f32>(yp + k * xs, v);
    }
    if (v > m) m = v;
  }
  validEnd = end;
  return m;
}

/** e at position j of a row's last partial step of 16 (0 past the row's end). */
function tailE(sp: usize, yp: usize, j: usize, r: usize, shift: f32, keep: bool): f32 {
  if (j >= r) return 0;
  const e: f32 = expNeg(load<f32>(sp + (j << 2)) - shift);
  if (keep) store<f32>(yp + (j << 2), e);
  return e;
}

/** The four lanes of e at positions 4q.. of a row's last partial step. */
function tailLanes(sp: usize, yp: usize, q: usize, r: usize, shift: f32, keep: bool): v128 {
  let e = f32x4.splat(0);
  const j = q << 2;
  e = f32x4.replace_lane(e, 0, tailE(sp, yp, j, r, shift, keep));
  e = f32x4.replace_lane(e, 1, tailE(sp, yp, j + 1, r, shift, keep));
  e = f32x4.replace_lane(e, 2, tailE(sp, yp, j + 2, r, shift, keep));
  e = f32x4.replace_lane(e, 3, tailE(sp, yp, j + 3, r, shift, keep));
  return e;
}

/**
 * Pass 2 of a row: e = exp(v - shift) of the values at sp (x, or y with -Inf at masked
 * positions, whose e is 0), stored into y when `keep` (the softmax; the log-softmax needs only
 * the sum), and the sum of e. The SIMD path folds the last, partial step of 16 into the same
 * lanes and block as a full one (missing positions add +0, which is exact), so the sum of a row
 * is bitwise the same whatever padding follows its valid positions: a padded batch gives each
 * real query exactly the output of its unpadded sequence (the demo's attention test).
 */
function expSumPass(sp: usize, yp: usize, n: usize, xs: usize, shift: f32, keep: bool): f64 {
  let sum: f64 = 0;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD && xs === 4) {
    const sv = f32x4.splat(shift);
    const kL = v128.load(expConstants);
    const kM = v128.load(expConstants, 16);
    const kH = v128.load(expConstants, 32);
    const kO = v128.load(expConstants, 48);
    const k5 = v128.load(expConstants, 64);
    const k4 = v128.load(expConstants, 80);
    const k3 = v128.load(expConstants, 96);
    const k2 = v128.load(expConstants, 112);
    const k1 = v128.load(expConstants, 128);
    const kC = v128.load(expConstants, 144);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    const steps = (n + 15) & ~15;
    while (k < steps) {
      const end = steps - k > BLOCK ? k + BLOCK : steps;
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      for (; k < end; k += 16) {
        const p = sp + (k << 2);
        const q = yp + (k << 2);
        if (k + 16 > n) {
          const r = n - k;
          const e0 = tailLanes(p, q, 0, r, shift, keep);
          const e1 = tailLanes(p, q, 1, r, shift, keep);
          const e2 = tailLanes(p, q, 2, r, shift, keep);
          const e3 = tailLanes(p, q, 3, r, shift, keep);
          s0 = f32x4.add(s0, f32x4.add(e0, e1));
          s1 = f32x4.add(s1, f32x4.add(e2, e3));
          k = steps; // the row's last step
          break;
        }
        const d0 = f32x4.sub(v128.load(p), sv);
        const d1 = f32x4.sub(v128.load(p, 16), sv);
        const d2 = f32x4.sub(v128.load(p, 32), sv);
        const d3 = f32x4.sub(v128.load(p, 48), sv);
        const e0 = expNegWith(d0, kL, kM, kH, kO, k5, k4, k3, k2, k1, kC);
        const e1 = expNegWith(d1, kL, kM, kH, kO, k5, k4, k3, k2, k1, kC);
        const e2 = expNegWith(d2, kL, kM, kH, kO, k5, k4, k3, k2, k1, kC);
        const e3 = expNegWith(d3, kL, kM, kH, kO, k5, k4, k3, k2, k1, kC);
        if (keep) {
          v128.store(q, e0);
          v128.store(q, e1, 16);
          v128.store(q, e2, 32);
          v128.store(q, e3, 48);
        }
        s0 = f32x4.add(s0, f32x4.add(e0, e1));
        s1 = f32x4.add(s1, f32x4.add(e2, e3));
      }
      const s = f32x4.add(s0, s1);
      lo = f64x2.add(lo, promoteLow(s));
      hi = f64x2.add(hi, promoteHigh(s));
    }
    return horizontalSum(lo, hi);
  }
  for (; k < n; k++) {
    const e = expNeg(load<f32>(sp + k * xs) - shift);
    if (keep) store<f32>(yp + k * xs, e);
    sum += e;
  }
  return sum;
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
  const masked: f32 = log ? -Infinity : 0;
  // A mask constant along the row: all valid (read x from here on) or none (zeros).
  if (ms === 0 && load<u8>(mp) === 0) {
    fillRow(yp, mp, n, xs, ms, 0, 0);
    return;
  }
  const m = maxPass(xp, yp, mp, n, xs, ms);
  const end = validEnd;
  const sp = ms === 0 ? xp : yp;
  // m is -Inf both for a row with no valid position and for one whose valid values are all
  // -Inf or NaN.
  if (end === 0) {
    fillRow(yp, mp, n, xs, ms, 0, 0);
    return;
  }
  if (m === Infinity) {
    // A valid +Inf: NaN at the valid positions (as tf.softmax).
    fillRow(yp, mp, n, xs, ms, NaN, masked);
    return;
  }
  // Every valid value -Inf (or NaN): shift by 0 (x - m would be NaN), so e = 0 (or NaN).
  const shift: f32 = m === -Infinity ? 0 : m;
  // The sum is >= 1 when m is finite (e^0 = 1 exactly), NaN if a valid value is NaN.
  const sum = expSumPass(sp, yp, end, xs, shift, !log);
  if (Number.isNaN(sum)) {
    fillRow(yp, mp, n, xs, ms, NaN, masked);
    return;
  }
  // Pass 3: the masked value after validEnd (pass 1 wrote nothing there), then the row up to it.
  let k: usize = 0;
  const simd = ASC_FEATURE_SIMD && xs === 4;
  let j = end;
  if (simd) for (; j + 4 <= n; j += 4) v128.store(yp + (j << 2), f32x4.splat(masked));
  for (; j < n; j++) store<f32>(yp + j * xs, masked);
  if (!log) {
    // e is 0 at masked positions, so scaling needs no mask; 1/sum rounded once (sum 0: zeros).
    const r: f32 = sum > 0 ? <f32>(1 / sum) : 0;
    if (simd) {
      const rv = f32x4.splat(r);
      for (; k + 16 <= end; k += 16) {
        const p = yp + (k << 2);
        v128.store(p, f32x4.mul(v128.load(p), rv));
        v128.store(p, f32x4.mul(v128.load(p, 16), rv), 16);
        v128.store(p, f32x4.mul(v128.load(p, 32), rv), 32);
        v128.store(p, f32x4.mul(v128.load(p, 48), rv), 48);
      }
    }
    for (; k < end; k++) store<f32>(yp + k * xs, load<f32>(yp + k * xs) * r);
    return;
  }
  // (v - m) - log(sum) (sum >= 1; -Inf at masked positions, whose v is -Inf), or v - 0 - 0 for
  // an all -Inf row.
  const s32 = <f32>sum;
  const lse: f32 = s32 > 0 ? logScalar(s32) : 0;
  if (simd) {
    const sv = f32x4.splat(shift);
    const lv = f32x4.splat(lse);
    for (; k + 4 <= end; k += 4) {
      const at = k << 2;
      v128.store(yp + at, f32x4.sub(f32x4.sub(v128.load(sp + at), sv), lv));
    }
  }
  for (; k < end; k++) store<f32>(yp + k * xs, load<f32>(sp + k * xs) - shift - lse);
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
  expConstants = setDims(dims);
  storeExpConstants(expConstants);
  const xs = (<usize>inner) << 2;
  const rowBytes = <usize>n * xs;
  let outerMask = mask;
  for (let o: u32 = 0; o < outer; o++) {
    let rowMask = outerMask;
    for (let i: u32 = 0; i < inner; i++) {
      const at = <usize>o * rowBytes + ((<usize>i) << 2);
      forwardRow(x + at, out + at, rowMask, <usize>n, xs, maskAxisStride, log !== 0);
      rowMask += nextInner();
    }
    outerMask += nextOuter();
  }
}
