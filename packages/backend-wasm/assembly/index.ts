// MaskedMean / MaskedMeanGrad kernels that work in place on tfjs-backend-wasm's heap.
//
// AssemblyScript, compiled three times by scripts/build-wasm.mjs: with SIMD (ASC_FEATURE_SIMD true),
// with SIMD for shared memory (the threaded tfjs build), and without SIMD (the scalar module for
// tfjs's plain build). The module imports tfjs's WebAssembly.Memory and has no data segments and no
// runtime: every pointer argument is a byte offset into that memory (a tensor's memoryOffset).
//
// Layout (see maskedMeanGeometry in @masked-ops/core): x is [...maskShape, inner] so one mask byte
// selects a contiguous row of `inner` floats. With a contiguous block of reduced axes, x is
// [outer, reduce, mid, inner], the mask [outer, reduce, mid] and the output [outer, mid, inner].
// Any other axis set goes through two int32 tables of mask-level offsets (kept, reduce).
//
// Every output element is written (the output buffer is not zeroed): 0 for a row with no valid
// element, and 0 at masked positions of dx. Masked elements are never read into a sum (selection,
// not multiplication), so NaN/Inf under the mask cannot leak.
//
// The file sticks to TypeScript syntax (no decorators) so the repo's formatter and linter parse
// it; Binaryen's -O3 inlines the small helpers.

// ---------------------------------------------------------------------------------------------
// Row helpers: `n` floats at byte offsets. SIMD over the feature dimension, scalar tail.

function zeroRow(dst: usize, n: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const z = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), z);
  }
  for (; i < n; i++) store<f32>(dst + (i << 2), 0);
}

/** acc[i] += src[i] */
function addRow(acc: usize, src: usize, n: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= n; i += 16) {
      const a = acc + (i << 2);
      const s = src + (i << 2);
      v128.store(a, f32x4.add(v128.load(a), v128.load(s)));
      v128.store(a, f32x4.add(v128.load(a, 16), v128.load(s, 16)), 16);
      v128.store(a, f32x4.add(v128.load(a, 32), v128.load(s, 32)), 32);
      v128.store(a, f32x4.add(v128.load(a, 48), v128.load(s, 48)), 48);
    }
    for (; i + 4 <= n; i += 4) {
      const a = acc + (i << 2);
      v128.store(a, f32x4.add(v128.load(a), v128.load(src + (i << 2))));
    }
  }
  for (; i < n; i++) {
    const a = acc + (i << 2);
    store<f32>(a, load<f32>(a) + load<f32>(src + (i << 2)));
  }
}

/**
 * acc[i] += valid ? src[i] : 0, without a branch: the row is selected bitwise (a masked NaN or Inf
 * becomes +0 and never reaches the sum). With a dense or unpredictable mask this beats branching
 * per row, whose mispredictions cost more than reading the masked rows.
 */
function addRowIf(acc: usize, src: usize, n: usize, valid: bool): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const sel = i32x4.splat(-(<i32>valid));
    for (; i + 16 <= n; i += 16) {
      const a = acc + (i << 2);
      const s = src + (i << 2);
      v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(s), sel)));
      v128.store(a, f32x4.add(v128.load(a, 16), v128.and(v128.load(s, 16), sel)), 16);
      v128.store(a, f32x4.add(v128.load(a, 32), v128.and(v128.load(s, 32), sel)), 32);
      v128.store(a, f32x4.add(v128.load(a, 48), v128.and(v128.load(s, 48), sel)), 48);
    }
    for (; i + 4 <= n; i += 4) {
      const a = acc + (i << 2);
      v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(src + (i << 2)), sel)));
    }
  }
  for (; i < n; i++) {
    const a = acc + (i << 2);
    store<f32>(a, load<f32>(a) + select<f32>(load<f32>(src + (i << 2)), 0, valid));
  }
}

/**
 * acc += the valid ones of `reduce` rows starting at xp (row stride xStride bytes, mask stride
 * mStride bytes), branch-free. The row loop is written out here rather than calling addRowIf so
 * that no call sits in the hot loop (Binaryen does not inline a helper used this often).
 */
function sumRowsDense(
  acc: usize,
  xp: usize,
  mp: usize,
  reduce: u32,
  mStride: usize,
  xStride: usize,
  n: usize,
): void {
  for (let r: u32 = 0; r < reduce; r++) {
    const valid = load<u8>(mp) !== 0;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const sel = i32x4.splat(-(<i32>valid));
      for (; i + 16 <= n; i += 16) {
        const a = acc + (i << 2);
        const s = xp + (i << 2);
        v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(s), sel)));
        v128.store(a, f32x4.add(v128.load(a, 16), v128.and(v128.load(s, 16), sel)), 16);
        v128.store(a, f32x4.add(v128.load(a, 32), v128.and(v128.load(s, 32), sel)), 32);
        v128.store(a, f32x4.add(v128.load(a, 48), v128.and(v128.load(s, 48), sel)), 48);
      }
      for (; i + 4 <= n; i += 4) {
        const a = acc + (i << 2);
        v128.store(a, f32x4.add(v128.load(a), v128.and(v128.load(xp + (i << 2)), sel)));
      }
    }
    for (; i < n; i++) {
      const a = acc + (i << 2);
      store<f32>(a, load<f32>(a) + select<f32>(load<f32>(xp + (i << 2)), 0, valid));
    }
    mp += mStride;
    xp += xStride;
  }
}

/** As sumRowsDense, but branching over the rows: for masks with few valid rows. */
function sumRowsSparse(
  acc: usize,
  xp: usize,
  mp: usize,
  reduce: u32,
  mStride: usize,
  xStride: usize,
  n: usize,
): void {
  for (let r: u32 = 0; r < reduce; r++) {
    if (load<u8>(mp) !== 0) {
      let i: usize = 0;
      if (ASC_FEATURE_SIMD) {
        for (; i + 16 <= n; i += 16) {
          const a = acc + (i << 2);
          const s = xp + (i << 2);
          v128.store(a, f32x4.add(v128.load(a), v128.load(s)));
          v128.store(a, f32x4.add(v128.load(a, 16), v128.load(s, 16)), 16);
          v128.store(a, f32x4.add(v128.load(a, 32), v128.load(s, 32)), 32);
          v128.store(a, f32x4.add(v128.load(a, 48), v128.load(s, 48)), 48);
        }
        for (; i + 4 <= n; i += 4) {
          const a = acc + (i << 2);
          v128.store(a, f32x4.add(v128.load(a), v128.load(xp + (i << 2))));
        }
      }
      for (; i < n; i++) {
        const a = acc + (i << 2);
        store<f32>(a, load<f32>(a) + load<f32>(xp + (i << 2)));
      }
    }
    mp += mStride;
    xp += xStride;
  }
}

/** dst[i] = valid ? src[i] : 0 (dst may equal src), without a branch. */
function copyRowIf(dst: usize, src: usize, n: usize, valid: bool): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const sel = i32x4.splat(-(<i32>valid));
    for (; i + 4 <= n; i += 4) {
      v128.store(dst + (i << 2), v128.and(v128.load(src + (i << 2)), sel));
    }
  }
  for (; i < n; i++) store<f32>(dst + (i << 2), select<f32>(load<f32>(src + (i << 2)), 0, valid));
}

/**
 * A row with fewer valid elements than this fraction of its length (1 / SPARSE) branches and skips
 * the masked rows; denser rows use the branch-free selection.
 */
const SPARSE: u32 = 4;

/** dst[i] = src[i] / count (dst may equal src) */
function quotientRow(dst: usize, src: usize, n: usize, count: u32): void {
  const c = <f32>count;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = f32x4.splat(c);
    for (; i + 4 <= n; i += 4) {
      v128.store(dst + (i << 2), f32x4.div(v128.load(src + (i << 2)), cv));
    }
  }
  for (; i < n; i++) store<f32>(dst + (i << 2), load<f32>(src + (i << 2)) / c);
}

// ---------------------------------------------------------------------------------------------
// inner === 1 with mid === 1 (e.g. a per-token loss [batch, time] with a full-shape mask, axis 1):
// rows are single floats, so vectorise along the reduced axis instead, selecting with a bit mask.

/** Lanes all-ones where the 4 mask bytes at `p` are non-zero, else all-zeros. */
function maskLanes(p: usize): v128 {
  const bytes = v128.load32_zero(p);
  const wide = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(bytes));
  return i32x4.ne(wide, i32x4.splat(0));
}

function meanScalarRows(x: usize, mask: usize, out: usize, outer: u32, reduce: u32): void {
  for (let o: u32 = 0; o < outer; o++) {
    const start = <usize>o * <usize>reduce;
    const xp = x + (start << 2);
    const mp = mask + start;
    let sum: f32 = 0;
    let count: u32 = 0;
    let r: usize = 0;
    if (ASC_FEATURE_SIMD) {
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let cnt = i32x4.splat(0);
      for (; r + 8 <= <usize>reduce; r += 8) {
        const m0 = maskLanes(mp + r);
        const m1 = maskLanes(mp + r + 4);
        acc0 = f32x4.add(acc0, v128.and(v128.load(xp + (r << 2)), m0));
        acc1 = f32x4.add(acc1, v128.and(v128.load(xp + (r << 2), 16), m1));
        cnt = i32x4.sub(i32x4.sub(cnt, m0), m1);
      }
      for (; r + 4 <= <usize>reduce; r += 4) {
        const m0 = maskLanes(mp + r);
        acc0 = f32x4.add(acc0, v128.and(v128.load(xp + (r << 2)), m0));
        cnt = i32x4.sub(cnt, m0);
      }
      const acc = f32x4.add(acc0, acc1);
      sum =
        f32x4.extract_lane(acc, 0) +
        f32x4.extract_lane(acc, 1) +
        (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      count = <u32>(
        (i32x4.extract_lane(cnt, 0) +
          i32x4.extract_lane(cnt, 1) +
          i32x4.extract_lane(cnt, 2) +
          i32x4.extract_lane(cnt, 3))
      );
    }
    for (; r < <usize>reduce; r++) {
      if (load<u8>(mp + r) !== 0) {
        sum += load<f32>(xp + (r << 2));
        count++;
      }
    }
    store<f32>(out + ((<usize>o) << 2), count !== 0 ? sum / <f32>count : 0);
  }
}

function gradScalarRows(dy: usize, mask: usize, dx: usize, outer: u32, reduce: u32): void {
  for (let o: u32 = 0; o < outer; o++) {
    const start = <usize>o * <usize>reduce;
    const dxp = dx + (start << 2);
    const mp = mask + start;
    let count: u32 = 0;
    for (let r: usize = 0; r < <usize>reduce; r++) count += <u32>(load<u8>(mp + r) !== 0);
    // With count === 0 every position is masked and q never reaches dx.
    const q: f32 = load<f32>(dy + ((<usize>o) << 2)) / <f32>count;
    let r: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const qv = f32x4.splat(q);
      for (; r + 4 <= <usize>reduce; r += 4) {
        v128.store(dxp + (r << 2), v128.and(qv, maskLanes(mp + r)));
      }
    }
    for (; r < <usize>reduce; r++) store<f32>(dxp + (r << 2), load<u8>(mp + r) !== 0 ? q : 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Contiguous reduced axes: x [outer, reduce, mid, inner], mask [outer, reduce, mid].

export function maskedMeanBlocks(
  x: usize,
  mask: usize,
  out: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  inner: u32,
): void {
  if (inner === 1 && mid === 1) {
    meanScalarRows(x, mask, out, outer, reduce);
    return;
  }
  const n = <usize>inner;
  const rowBytes = n << 2;
  const xStride = <usize>mid * rowBytes;
  for (let o: u32 = 0; o < outer; o++) {
    for (let m: u32 = 0; m < mid; m++) {
      const acc = out + (<usize>o * <usize>mid + <usize>m) * rowBytes;
      const base = <usize>o * <usize>reduce * <usize>mid + <usize>m;
      let count: u32 = 0;
      let mp = mask + base;
      for (let r: u32 = 0; r < reduce; r++) {
        count += <u32>(load<u8>(mp) !== 0);
        mp += <usize>mid;
      }
      zeroRow(acc, n);
      if (count === 0) continue;
      const xp = x + base * rowBytes;
      mp = mask + base;
      if (count * SPARSE < reduce) sumRowsSparse(acc, xp, mp, reduce, <usize>mid, xStride, n);
      else sumRowsDense(acc, xp, mp, reduce, <usize>mid, xStride, n);
      if (count > 1) quotientRow(acc, acc, n, count);
    }
  }
}

export function maskedMeanGradBlocks(
  dy: usize,
  mask: usize,
  dx: usize,
  outer: u32,
  reduce: u32,
  mid: u32,
  inner: u32,
): void {
  if (inner === 1 && mid === 1) {
    gradScalarRows(dy, mask, dx, outer, reduce);
    return;
  }
  const n = <usize>inner;
  const rowBytes = n << 2;
  const stride = <usize>mid * rowBytes;
  for (let o: u32 = 0; o < outer; o++) {
    for (let m: u32 = 0; m < mid; m++) {
      const base = <usize>o * <usize>reduce * <usize>mid + <usize>m;
      let count: u32 = 0;
      let mp = mask + base;
      for (let r: u32 = 0; r < reduce; r++) {
        count += <u32>(load<u8>(mp) !== 0);
        mp += <usize>mid;
      }
      // dy / count goes into the group's first dx row, which serves as the source for the others
      // (written last to first) and is itself selected last. With count == 0 every row is masked
      // and the selection writes zeros over the non-finite quotient.
      const first = dx + base * rowBytes;
      quotientRow(first, dy + (<usize>o * <usize>mid + <usize>m) * rowBytes, n, count);
      for (let r = <i32>reduce - 1; r >= 0; r--) {
        const valid = load<u8>(mask + base + <usize>r * <usize>mid) !== 0;
        copyRowIf(first + <usize>r * stride, first, n, valid);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Any axis set: output row o averages the rows at mask offsets kept[o] + red[t], t < reduceSize.

export function maskedMeanTables(
  x: usize,
  mask: usize,
  out: usize,
  kept: usize,
  keptSize: u32,
  red: usize,
  reduceSize: u32,
  inner: u32,
): void {
  const n = <usize>inner;
  const rowBytes = n << 2;
  for (let o: u32 = 0; o < keptSize; o++) {
    const start = <usize>load<u32>(kept + ((<usize>o) << 2));
    const acc = out + <usize>o * rowBytes;
    let count: u32 = 0;
    for (let t: u32 = 0; t < reduceSize; t++) {
      count += <u32>(load<u8>(mask + start + <usize>load<u32>(red + ((<usize>t) << 2))) !== 0);
    }
    zeroRow(acc, n);
    if (count === 0) continue;
    const sparse = count * SPARSE < reduceSize;
    for (let t: u32 = 0; t < reduceSize; t++) {
      const at = start + <usize>load<u32>(red + ((<usize>t) << 2));
      const valid = load<u8>(mask + at) !== 0;
      if (!sparse) addRowIf(acc, x + at * rowBytes, n, valid);
      else if (valid) addRow(acc, x + at * rowBytes, n);
    }
    if (count > 1) quotientRow(acc, acc, n, count);
  }
}

export function maskedMeanGradTables(
  dy: usize,
  mask: usize,
  dx: usize,
  kept: usize,
  keptSize: u32,
  red: usize,
  reduceSize: u32,
  inner: u32,
): void {
  if (reduceSize === 0) return; // dx is empty
  const n = <usize>inner;
  const rowBytes = n << 2;
  for (let o: u32 = 0; o < keptSize; o++) {
    const start = <usize>load<u32>(kept + ((<usize>o) << 2));
    let count: u32 = 0;
    for (let t: u32 = 0; t < reduceSize; t++) {
      count += <u32>(load<u8>(mask + start + <usize>load<u32>(red + ((<usize>t) << 2))) !== 0);
    }
    // As in maskedMeanGradBlocks: the quotient row lives in the group's first dx row until last.
    const first = dx + (start + <usize>load<u32>(red)) * rowBytes;
    quotientRow(first, dy + <usize>o * rowBytes, n, count);
    for (let t = <i32>reduceSize - 1; t >= 0; t--) {
      const at = start + <usize>load<u32>(red + ((<usize>t) << 2));
      copyRowIf(dx + at * rowBytes, first, n, load<u8>(mask + at) !== 0);
    }
  }
}
