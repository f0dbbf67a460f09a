// What the masked softmax modules share (softmax.ts: forward; softmax_grad.ts: gradient; two
// modules so that each stays well under 4 KB and each has one call site of the exp below, which
// Binaryen then inlines into the hot loop). docs/SPEC.md "Masked softmax".
//
// logits = [outer..., n, inner...]: row (o, i) has its n elements `inner` floats apart; its mask
// bytes start at the mask offset of (o, i) and are `maskAxisStride` bytes apart (0 when the mask
// broadcasts along the row). The offset of (o, i) comes from core's softmaxGeometry: the merged
// outer and inner dims with their mask strides, a table of a few u32s on the heap for the call,
// walked row by row. The mask is read through these strides, never broadcast, and no per-row
// table is built.
//
// Rows along the last axis (inner == 1, attention) run 4 lanes along the row; other rows run the
// same passes one element at a time (the scalar loops, with a stride). The SIMD loops add at most
// BLOCK / 4 float32 terms per lane before the partial sums move into float64; the scalar loops
// add in float64.

/** Elements of a row summed in float32 lanes before the partial sums move into float64. */
export const BLOCK: usize = 256;

// The dims table of the call: [outerCount, innerCount, (size, maskStride) pairs of the outer
// dims, then of the inner dims], followed by the call's scratch: one digit per dim (the row
// cursor below), then the module's own scratch.
let outerDims: usize = 0;
let outerCount: u32 = 0;
let innerDims: usize = 0;
let innerCount: u32 = 0;
let outerDigits: usize = 0;
let innerDigits: usize = 0;

/**
 * Takes the call's dims table and starts the row cursor at row (0, 0); returns the address of
 * the module's own scratch (after the digits).
 */
export function setDims(dims: usize): usize {
  outerCount = load<u32>(dims);
  innerCount = load<u32>(dims, 4);
  outerDims = dims + 8;
  innerDims = outerDims + ((<usize>outerCount) << 3);
  outerDigits = innerDims + ((<usize>innerCount) << 3);
  innerDigits = outerDigits + ((<usize>outerCount) << 2);
  const end = innerDigits + ((<usize>innerCount) << 2);
  for (let p = outerDigits; p < end; p += 4) store<u32>(p, 0);
  return end;
}

/**
 * Moves the cursor of `count` dims (an odometer of digits, the last dim fastest) one step on and
 * returns how far the mask offset moved (wrapping: a carry moves it back). A division per row
 * would cost about 7% of the forward at [8,12,128,128].
 */
function advance(dims: usize, digits: usize, count: u32): usize {
  let delta: usize = 0;
  for (let d = <i32>count - 1; d >= 0; d--) {
    const p = dims + ((<usize>d) << 3);
    const q = digits + ((<usize>d) << 2);
    const stride = <usize>load<u32>(p, 4);
    const digit = load<u32>(q) + 1;
    if (digit < load<u32>(p)) {
      store<u32>(q, digit);
      return delta + stride;
    }
    store<u32>(q, 0);
    delta -= <usize>(digit - 1) * stride;
  }
  return delta;
}

/** The step of the mask offset from one outer row to the next (the inner cursor is at 0). */
export function nextOuter(): usize {
  return advance(outerDims, outerDigits, outerCount);
}

/** The step of the mask offset from row (o, i) to (o, i + 1), or back to (o, 0) after the last. */
export function nextInner(): usize {
  return advance(innerDims, innerDigits, innerCount);
}

/**
 * The lanes of a row whose mask broadcasts along it (maskAxisStride 0): its one byte, in every
 * lane. The SIMD loops use it when ms is 0 and read 4 mask bytes otherwise (an if, not a select:
 * with ms 0 the bytes after the row's one are other rows', or past the mask).
 */
export function rowLanes(mp: usize): v128 {
  return i32x4.splat(-(<i32>(load<u8>(mp) !== 0)));
}

/** The float64 sum of the lanes of two f64x2. */
export function horizontalSum(lo: v128, hi: v128): f64 {
  const t = f64x2.add(lo, hi);
  return f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
}

// e^x for x <= 0 (x - max in the forward, a log-probability in the log gradient), -Inf or NaN,
// in fewer steps than math.ts's general exp (XNNPACK's rr2-p5 scheme): k = round(x / ln 2) by a
// magic bias that also carries the exponent bias, so 2^k is one shift; r = x - k ln 2 in two
// parts (Cody-Waite); e^r by a degree-5 minimax polynomial (about 1-2 ulp). Below -87.34 the
// result would be subnormal and is flushed to 0 (a probability under 2^-126, within the kit's
// absolute floor); -Inf gives 0. A NaN stays NaN (r is NaN). e^0 is exactly 1 (the max's term).
const LOG2E: f32 = 1.44269502;
/** 1.5 * 2^23 + 127: rounds to an integer in the low mantissa bits, biased for the exponent. */
const MAGIC: f32 = 12583039;
const MINUS_LN2_HI: f32 = -0.693145752;
const MINUS_LN2_LO: f32 = -1.42860677e-6;
const C5: f32 = 8.28929059e-3;
const C4: f32 = 4.18978222e-2;
const C3: f32 = 1.66676521e-1;
const C2: f32 = 4.99991506e-1;
const C1: f32 = 9.99999702e-1;
const CUTOFF: f32 = -87.3365402;

/** e^x in each lane (x <= 0, -Inf or NaN). */
export function expNegLanes(x: v128): v128 {
  return expNegWith(
    x,
    f32x4.splat(LOG2E),
    f32x4.splat(MAGIC),
    f32x4.splat(MINUS_LN2_HI),
    f32x4.splat(MINUS_LN2_LO),
    f32x4.splat(C5),
    f32x4.splat(C4),
    f32x4.splat(C3),
    f32x4.splat(C2),
    f32x4.splat(C1),
    f32x4.splat(CUTOFF),
  );
}

// V8 rematerialises every v128.const at each use inside a loop (a 64-bit immediate move, a move
// to the vector register and a shuffle: three instructions on the ports the exp itself needs),
// and sinks splats of constants into the loop too. A hot loop therefore takes the exp's constants
// from memory into locals before it starts (as XNNPACK takes them from its params), which V8
// keeps in registers: about 5% off the forward. storeExpConstants writes them at the start of
// the call; softmax.ts's exp-sum pass loads them and passes them to expNegWith.

/** Writes the exp's ten constants, each as four lanes, at `at` (SOFTMAX_EXP_WORDS words). */
export function storeExpConstants(at: usize): void {
  if (!ASC_FEATURE_SIMD) return;
  v128.store(at, f32x4.splat(LOG2E));
  v128.store(at, f32x4.splat(MAGIC), 16);
  v128.store(at, f32x4.splat(MINUS_LN2_HI), 32);
  v128.store(at, f32x4.splat(MINUS_LN2_LO), 48);
  v128.store(at, f32x4.splat(C5), 64);
  v128.store(at, f32x4.splat(C4), 80);
  v128.store(at, f32x4.splat(C3), 96);
  v128.store(at, f32x4.splat(C2), 112);
  v128.store(at, f32x4.splat(C1), 128);
  v128.store(at, f32x4.splat(CUTOFF), 144);
}

/**
 * expNegLanes with its constants passed in (log2e, magic, -ln2 high and low, c5..c1, cutoff;
 * the order storeExpConstants writes them in).
 */
export function expNegWith(
  x: v128,
  log2e: v128,
  magic: v128,
  ln2Hi: v128,
  ln2Lo: v128,
  c5: v128,
  c4: v128,
  c3: v128,
  c2: v128,
  c1: v128,
  cutoff: v128,
): v128 {
  let n = f32x4.add(f32x4.mul(x, log2e), magic);
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, magic);
  let t = f32x4.add(f32x4.mul(n, ln2Hi), x);
  t = f32x4.add(f32x4.mul(n, ln2Lo), t);
  let p = f32x4.add(f32x4.mul(c5, t), c4);
  p = f32x4.add(f32x4.mul(p, t), c3);
  p = f32x4.add(f32x4.mul(p, t), c2);
  p = f32x4.add(f32x4.mul(p, t), c1);
  t = f32x4.mul(t, s);
  const f = f32x4.add(f32x4.mul(t, p), s);
  return v128.andnot(f, f32x4.lt(x, cutoff));
}

/** e^x (the steps of expNegLanes, one lane). */
export function expNeg(x: f32): f32 {
  let n = x * LOG2E + MAGIC;
  const s = reinterpret<f32>(reinterpret<i32>(n) << 23);
  n -= MAGIC;
  let t = n * MINUS_LN2_HI + x;
  t = n * MINUS_LN2_LO + t;
  let p = C5 * t + C4;
  p = p * t + C3;
  p = p * t + C2;
  p = p * t + C1;
  t *= s;
  return x < CUTOFF ? 0 : t * p + s;
}

/**
 * Writes `valid` at valid positions and `masked` at masked ones (a row with no valid position:
 * both 0; a valid NaN or +Inf: NaN and the op's masked value). Rare rows: one element at a time.
 */
export function fillRow(
  yp: usize,
  mp: usize,
  n: usize,
  xs: usize,
  ms: usize,
  valid: f32,
  masked: f32,
): void {
  for (let k: usize = 0; k < n; k++) {
    store<f32>(yp + k * xs, load<u8>(mp + k * ms) !== 0 ? valid : masked);
  }
}
