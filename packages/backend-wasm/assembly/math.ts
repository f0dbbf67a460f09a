// float32 exp and log for the statistics (stats.ts: the logsumexp forward; broadcast.ts: its
// gradient). WebAssembly has no exp or log instruction, SIMD or scalar, and AssemblyScript's
// Mathf.exp/Mathf.log are scalar and, at -O3, table-driven (a data segment, which the kernel
// modules must not have: it would be written into tfjs's heap). Each function comes as 4 lanes
// (SIMD modules) and as a scalar (tails and the scalar modules), with the same constants and
// steps, so both give the same results.

// exp(x) = 2^k * e^r with k = round(x / ln 2) and r = x - k ln 2 in [-ln2/2, ln2/2] (Cody-Waite:
// ln 2 split so that k * LN2_HI is exact for every k used), e^r by Cephes' expf polynomial
// (relative error < 2e-7, about 1-2 ulp). 2^k is applied as two factors 2^(k >> 1) and
// 2^(k - (k >> 1)), each a normal float for k in [-150, 128]: the first product is exact, the
// second rounds once, so results in the subnormal range and overflow to +Inf come out as float32
// rounding of e^x does. x is clamped to [-104, 89] first (e^x is 0 below, +Inf above in
// float32); the clamp keeps a NaN (pmax/pmin return their first operand when unordered), and a
// NaN then stays NaN through every step. e^0 is exactly 1 (the max of a logsumexp slice relies on
// it), e^-Inf is 0.
const EXP_LOW: f32 = -104;
const EXP_HIGH: f32 = 89;
const LOG2E: f32 = <f32>Math.LOG2E;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.1219444e-4;
/** 1.5 * 2^23: adding it rounds a float below 2^22 in magnitude to an integer, kept in the low bits. */
const ROUNDER: f32 = 12582912;
const ROUNDER_BITS: i32 = 0x4b400000;
const P0: f32 = 1.98756915e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

/** e^x in each lane. */
export function expLanes(v: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(v, f32x4.splat(EXP_LOW)), f32x4.splat(EXP_HIGH));
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const kf = f32x4.sub(t, f32x4.splat(ROUNDER));
  const r = f32x4.sub(
    f32x4.sub(x, f32x4.mul(kf, f32x4.splat(LN2_HI))),
    f32x4.mul(kf, f32x4.splat(LN2_LO)),
  );
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const k = i32x4.sub(t, i32x4.splat(ROUNDER_BITS));
  const h = i32x4.shr_s(k, 1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(h, bias), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(k, h), bias), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

/** e^x (the steps of expLanes, one lane). */
export function expScalar(v: f32): f32 {
  // A NaN compares false both ways, so it passes both clamps unchanged.
  const x = v < EXP_LOW ? EXP_LOW : v > EXP_HIGH ? EXP_HIGH : v;
  const t = x * LOG2E + ROUNDER;
  const kf = t - ROUNDER;
  const r = x - kf * LN2_HI - kf * LN2_LO;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  const y = p * (r * r) + r + 1;
  const k = reinterpret<i32>(t) - ROUNDER_BITS;
  const h = k >> 1;
  return y * reinterpret<f32>((h + 127) << 23) * reinterpret<f32>((k - h + 127) << 23);
}

// log(s) for s >= 1 finite (the rescaled sum of a logsumexp slice, at most its count): s = 2^e m
// with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, by its
// series to t^9 (truncation < 3e-9 relative), e ln 2 in two parts. log 1 is exactly 0, so a slice
// with one valid value returns it exactly.
/** Bits of sqrt(1/2), and what moves [sqrt(1/2), sqrt(2)) to exponent 0 (musl's logf split). */
const SQRT_HALF_BITS: i32 = 0x3f3504f3;
const TO_ONE: i32 = 0x3f800000 - SQRT_HALF_BITS;
/** ln 2 = LN2_HI_LOG + LN2_LO_LOG; LN2_HI_LOG has 17 bits, so e * LN2_HI_LOG is exact. */
const LN2_HI_LOG: f32 = 6.9313812256e-1;
const LN2_LO_LOG: f32 = 9.0580006145e-6;

/** log(s) in each lane (s >= 1). */
export function logLanes(s: v128): v128 {
  // Bits of s / 2^e with the mantissa moved into [sqrt(1/2), sqrt(2)) (e counts the move).
  const shifted = i32x4.add(s, i32x4.splat(TO_ONE));
  const e = i32x4.sub(i32x4.shr_s(shifted, 23), i32x4.splat(127));
  const m = i32x4.add(v128.and(shifted, i32x4.splat(0x7fffff)), i32x4.splat(SQRT_HALF_BITS));
  const one = f32x4.splat(1);
  const t = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const t2 = f32x4.mul(t, t);
  let p = f32x4.add(f32x4.mul(f32x4.splat(<f32>(2.0 / 9)), t2), f32x4.splat(<f32>(2.0 / 7)));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(<f32>(2.0 / 5)));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(<f32>(2.0 / 3)));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(2));
  const ef = f32x4.convert_i32x4_s(e);
  return f32x4.add(
    f32x4.mul(ef, f32x4.splat(LN2_HI_LOG)),
    f32x4.add(f32x4.mul(t, p), f32x4.mul(ef, f32x4.splat(LN2_LO_LOG))),
  );
}

/** log(s) for s >= 1 (the steps of logLanes, one lane). */
export function logScalar(s: f32): f32 {
  const shifted = reinterpret<i32>(s) + TO_ONE;
  const ef = <f32>((shifted >> 23) - 127);
  const m = reinterpret<f32>((shifted & 0x7fffff) + SQRT_HALF_BITS);
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  let p: f32 = <f32>(2.0 / 9) * t2 + <f32>(2.0 / 7);
  p = p * t2 + <f32>(2.0 / 5);
  p = p * t2 + <f32>(2.0 / 3);
  p = p * t2 + 2;
  return ef * LN2_HI_LOG + (t * p + ef * LN2_LO_LOG);
}
