const ROUND = 6755399441055744; // 1.5 * 2^52: adding it rounds a float64 below 2^51 to an integer
const LN2_HI = 0.6931471803691238; // ln2 to 33 bits: k * LN2_HI is exact for |k| < 2^20
const LN2_LO = 1.9082149292705877e-10; // ln2 - LN2_HI
/** 2^k for k in [-POW2_BIAS, 79 - POW2_BIAS]: z in [-50, 2] gives k in [-73, 3]. */
const POW2_BIAS = 76;
const POW2 = Float64Array.from({ length: 80 }, (_, i) => 2 ** (i - POW2_BIAS));

/**
 * exp(z) for the log-sum-exp kernels, about twice as fast as Math.exp (which V8 compiles to a
 * call into fdlibm; the forward kernel is one exp per valid element). Within 1e-8 relative where
 * it answers itself, far inside the float32 bound (docs/SPEC.md "Accuracy").
 *
 * z = k ln2 + r with k = round(z / ln2), |r| <= ln2 / 2; exp(r) by its degree-7 Taylor polynomial
 * (truncation below 7.1e-9 relative), 2^k from a table. Only z in [-50, 2] takes that path, which
 * is every term these kernels sum or scale on real data (z = x - max <= 0, or x - y for a
 * gradient, at most a rounding above 0). Below -50 it returns 0: such a term is under 2e-22 of
 * the largest one, which alone contributes 1 (the forward sum is >= 1), and a gradient element
 * that small is within the absolute floor of the bound. Everything else (NaN, +Infinity, z > 2)
 * goes to Math.exp, so the non-finite rules are Math.exp's.
 */
export function fastExp(z: number): number {
  if (z >= -50 && z <= 2) return expReduced(z);
  return z < -50 ? 0 : Math.exp(z);
}

/**
 * {@link fastExp} without the flush to 0 below -50: Math.exp answers there. For the softmaxes,
 * whose bound is relative to each probability (a tiny one must still be right to 1e-5 of
 * itself), so exp(-60) cannot become 0. Real rows rarely reach below -50, so the fast path
 * still takes nearly every element.
 */
export function fastExpNoFlush(z: number): number {
  return z >= -50 && z <= 2 ? expReduced(z) : Math.exp(z);
}

/** exp(z) for z in [-50, 2] (see {@link fastExp}). */
function expReduced(z: number): number {
  // Round to nearest by adding and subtracting 1.5 * 2^52 (Math.round is much slower in V8).
  const k = z * Math.LOG2E + ROUND - ROUND;
  const r = z - k * LN2_HI - k * LN2_LO; // Cody-Waite reduction: k * LN2_HI is exact
  const r2 = r * r;
  // Estrin-style grouping: shorter dependency chains than Horner; reciprocals fold to constants.
  const p =
    1 +
    r +
    r2 * (1 / 2 + r * (1 / 6) + r2 * (1 / 24 + r * (1 / 120) + r2 * (1 / 720 + r * (1 / 5040))));
  return p * POW2[(k + POW2_BIAS) | 0]!;
}
