// The masked softmaxes' gradient module (docs/SPEC.md "Masked softmax"): dx of every row from
// dy and the forward output y (softmax_rows.ts: the layout, the SIMD and scalar loops, the exp).
// Pass 1 sums over the valid positions, pass 2 writes dx; the row stays in cache between them.
import { maskLanes } from './layout';
import { promoteHigh, promoteLow } from './rows';
import {
  BLOCK,
  expNeg,
  expNegLanes,
  horizontalSum,
  nextInner,
  nextOuter,
  rowLanes,
  setDims,
} from './softmax_rows';

/**
 * dx of one row from dy and the forward output y. softmax: y * (dy - s), s = sum of y * dy;
 * log: dy - exp(y) * t, t = sum of dy; sums over valid positions, dx 0 at masked ones (by
 * selection: dy may be NaN there). A row with no valid position sums to 0 and gets zeros.
 */
function gradRow(
  dyp: usize,
  yp: usize,
  dxp: usize,
  mp: usize,
  n: usize,
  xs: usize,
  ms: usize,
  log: bool,
): void {
  const simd = ASC_FEATURE_SIMD && xs === 4;
  let sum: f64 = 0;
  let k: usize = 0;
  if (simd) {
    // log multiplies dy by 1 instead of y (no branch in the loop).
    const uniform = rowLanes(mp);
    const ones = f32x4.splat(1);
    const logSel = i32x4.splat(-(<i32>log));
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    const whole = n & ~3;
    while (k < whole) {
      const end = whole - k > BLOCK ? k + BLOCK : whole;
      let s = f32x4.splat(0);
      for (; k < end; k += 4) {
        const at = k << 2;
        const f = v128.bitselect(ones, v128.load(yp + at), logSel);
        const t = f32x4.mul(v128.load(dyp + at), f);
        let lanes = uniform;
        if (ms !== 0) lanes = maskLanes(mp + k);
        s = f32x4.add(s, v128.and(t, lanes));
      }
      lo = f64x2.add(lo, promoteLow(s));
      hi = f64x2.add(hi, promoteHigh(s));
    }
    sum = horizontalSum(lo, hi);
  }
  for (; k < n; k++) {
    if (load<u8>(mp + k * ms) !== 0) {
      const d = load<f32>(dyp + k * xs);
      sum += log ? d : d * load<f32>(yp + k * xs);
    }
  }
  const s = <f32>sum;
  k = 0;
  if (simd) {
    const uniform = rowLanes(mp);
    const sv = f32x4.splat(s);
    for (; k + 4 <= n; k += 4) {
      const at = k << 2;
      const d = v128.load(dyp + at);
      const y = v128.load(yp + at);
      let dx: v128;
      if (log) dx = f32x4.sub(d, f32x4.mul(expNegLanes(y), sv));
      else dx = f32x4.mul(y, f32x4.sub(d, sv));
      let lanes = uniform;
      if (ms !== 0) lanes = maskLanes(mp + k);
      v128.store(dxp + at, v128.and(dx, lanes));
    }
  }
  for (; k < n; k++) {
    let dx: f32 = 0;
    if (load<u8>(mp + k * ms) !== 0) {
      const d = load<f32>(dyp + k * xs);
      const y = load<f32>(yp + k * xs);
      dx = log ? d - expNeg(y) * s : y * (d - s);
    }
    store<f32>(dxp + k * xs, dx);
  }
}

/** Gradient of every row: dx from dy and the forward output y. */
export function softmaxGrad(
  log: i32,
  dy: usize,
  mask: usize,
  y: usize,
  dx: usize,
  dims: usize,
  outer: u32,
  n: u32,
  inner: u32,
  maskAxisStride: u32,
): void {
  setDims(dims);
  const xs = (<usize>inner) << 2;
  const rowBytes = <usize>n * xs;
  let outerMask = mask;
  for (let o: u32 = 0; o < outer; o++) {
    let rowMask = outerMask;
    for (let i: u32 = 0; i < inner; i++) {
      const at = <usize>o * rowBytes + ((<usize>i) << 2);
      gradRow(dy + at, y + at, dx + at, rowMask, <usize>n, xs, maskAxisStride, log !== 0);
      rowMask += nextInner();
    }
    outerMask += nextOuter();
  }
}
