// The row loops: `n` rows of `inner` floats, row r at xp + r * xStride with its mask byte at
// mp + r * mStride, folded into the row at `acc`. 128-bit SIMD over the feature dimension with a
// scalar tail. Masked rows are *selected* away (bitwise), never multiplied by 0, so NaN/Inf under
// the mask cannot leak. With `sparse` (branchOverMasked: few valid rows, or long runs of them)
// masked rows are skipped by a branch instead; with a dense and unpredictable mask the branch-free
// selection wins, since a mispredicted branch costs more than reading a masked row. The row loop is written out in
// each function so that no call sits in the hot loop (Binaryen does not inline helpers used this
// often).
import { inner, total, validRuns } from './layout';

/** A slice with fewer valid positions than 1 / SPARSE of its length branches over masked rows. */
export const SPARSE: u32 = 4;

/** So does one whose valid positions come in runs at least this long on average. */
export const LONG_RUNS: u32 = 16;

/**
 * Whether the row loops branch over the masked rows of the slice countValid just counted (`count`
 * valid): when it is sparse, or when its valid positions come in long runs, as in every padded
 * batch (a valid prefix, then padding). The branch is then predictable, and a masked row is not
 * read at all: at 50% padding that halves the memory a sum reads. A dense mask without long runs
 * keeps the branch-free selection.
 */
export function branchOverMasked(count: u32): bool {
  return count * SPARSE < total || validRuns * LONG_RUNS <= count;
}

/** acc[i] += valid ? x[i] : 0 over the rows. */
export function sumRows(
  acc: usize,
  xp: usize,
  mp: usize,
  n: u32,
  mStride: usize,
  xStride: usize,
  sparse: bool,
): void {
  for (let r: u32 = 0; r < n; r++) {
    const valid = load<u8>(mp) !== 0;
    if (valid || !sparse) {
      let i: usize = 0;
      if (ASC_FEATURE_SIMD) {
        const sel = i32x4.splat(-(<i32>valid));
        for (; i + 16 <= inner; i += 16) {
          const a = acc + (i << 2);
          const s = xp + (i << 2);
          v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(s), sel)));
          v128.store(a, f32x4.add(v128.load(a, 16), v128.and(v128.load(s, 16), sel)), 16);
          v128.store(a, f32x4.add(v128.load(a, 32), v128.and(v128.load(s, 32), sel)), 32);
          v128.store(a, f32x4.add(v128.load(a, 48), v128.and(v128.load(s, 48), sel)), 48);
        }
        for (; i + 4 <= inner; i += 4) {
          const a = acc + (i << 2);
          v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(xp + (i << 2)), sel)));
        }
      }
      for (; i < inner; i++) {
        const a = acc + (i << 2);
        store<f32>(a, load<f32>(a) + select<f32>(load<f32>(xp + (i << 2)), 0, valid));
      }
    }
    mp += mStride;
    xp += xStride;
  }
}

/**
 * acc[i] = max(acc[i], valid ? x[i] ^ flip : -Inf) over the rows (acc starts at -Inf). The
 * masked value is replaced by -Inf by selection; maxLanes / f32.max propagate a valid NaN.
 */
export function maxRows(
  acc: usize,
  xp: usize,
  mp: usize,
  n: u32,
  mStride: usize,
  xStride: usize,
  sparse: bool,
  flip: i32,
): void {
  for (let r: u32 = 0; r < n; r++) {
    const valid = load<u8>(mp) !== 0;
    if (valid || !sparse) {
      let i: usize = 0;
      if (ASC_FEATURE_SIMD) {
        const sel = i32x4.splat(-(<i32>valid));
        const f = i32x4.splat(flip);
        const low = f32x4.splat(-Infinity);
        for (; i + 8 <= inner; i += 8) {
          const a = acc + (i << 2);
          const s = xp + (i << 2);
          const v0 = v128.bitselect(v128.xor(v128.load(s), f), low, sel);
          const v1 = v128.bitselect(v128.xor(v128.load(s, 16), f), low, sel);
          v128.store(a, maxLanes(v128.load(a), v0));
          v128.store(a, maxLanes(v128.load(a, 16), v1), 16);
        }
        for (; i + 4 <= inner; i += 4) {
          const a = acc + (i << 2);
          const v = v128.bitselect(v128.xor(v128.load(xp + (i << 2)), f), low, sel);
          v128.store(a, maxLanes(v128.load(a), v));
        }
      }
      for (; i < inner; i++) {
        const a = acc + (i << 2);
        const v = reinterpret<f32>(load<i32>(xp + (i << 2)) ^ flip);
        store<f32>(a, max<f32>(load<f32>(a), select<f32>(v, -Infinity, valid)));
      }
    }
    mp += mStride;
    xp += xStride;
  }
}

/**
 * f32x4.max as docs/SPEC.md wants it (a NaN in either operand gives NaN), in three instructions:
 * f32x4.max is a longer sequence on x64 (it also orders -0 below +0, which no reducer needs).
 * pmax keeps `acc` when either is NaN, so a NaN accumulator stays NaN; a NaN `v` is ORed in as
 * all-ones bits, itself a NaN.
 */
export function maxLanes(acc: v128, v: v128): v128 {
  return v128.or(f32x4.pmax(acc, v), f32x4.ne(v, v));
}

/** True if any of the `inner` floats at `p` is NaN or ±Inf (v - v is then NaN, else 0). */
export function anyNonFinite(p: usize): bool {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let bad = i32x4.splat(0);
    for (; i + 4 <= inner; i += 4) {
      const v = v128.load(p + (i << 2));
      bad = v128.or(bad, f32x4.ne(f32x4.sub(v, v), f32x4.splat(0)));
    }
    if (v128.any_true(bad)) return true;
  }
  for (; i < inner; i++) {
    const v = load<f32>(p + (i << 2));
    if (v - v !== 0) return true;
  }
  return false;
}

/** Lanes all-ones where v is NaN or ±Inf (v - v is then NaN, else 0). */
export function nonFiniteLanes(v: v128): v128 {
  return f32x4.ne(f32x4.sub(v, v), f32x4.splat(0));
}

/** Lanes 0 and 1 of a f32x4 as f64x2 (a float32 partial on its way into float64). */
export function promoteLow(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

/** Lanes 2 and 3 of a f32x4 as f64x2. */
export function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** The f32x4 of two f64x2 halves (each lane rounded once). */
export function narrow(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** Lanes all-ones where x and y are tied (equal, or both NaN): an extremum's gradient goes there. */
export function tiedLanes(x: v128, y: v128): v128 {
  return v128.or(f32x4.eq(x, y), v128.and(f32x4.ne(x, x), f32x4.ne(y, y)));
}

export function tied(x: f32, y: f32): bool {
  // biome-ignore lint/suspicious/noSelfCompare: NaN is the one value unequal to itself (f32.ne)
  return x === y || (x !== x && y !== y);
}

/**
 * dst[c] += s * src[c] for `n` floats (a row of x into its segment's row, a share of dy into a row
 * of d weight).
 */
export function addScaledRow(dst: usize, src: usize, s: f32, n: usize): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; c + 8 <= n; c += 8) {
      const d = dst + (c << 2);
      const p = src + (c << 2);
      v128.store(d, f32x4.add(v128.load(d), f32x4.mul(v128.load(p), sv)));
      v128.store(d, f32x4.add(v128.load(d, 16), f32x4.mul(v128.load(p, 16), sv)), 16);
    }
    for (; c + 4 <= n; c += 4) {
      const d = dst + (c << 2);
      v128.store(d, f32x4.add(v128.load(d), f32x4.mul(v128.load(src + (c << 2)), sv)));
    }
  }
  for (; c < n; c++) {
    const d = dst + (c << 2);
    store<f32>(d, load<f32>(d) + load<f32>(src + (c << 2)) * s);
  }
}
