// The embedding bag's forward module (docs/SPEC.md "Embedding bag"): the family's masked reduce
// with another row source and mask. Bag b is ids[offsets[b] .. offsets[b + 1]); its rows are
// weight rows ids[i] (scaled by perSampleWeights[i] when given), and an id equal to the padding id
// is masked out: skipped, never read (a NaN or Inf in the padding row cannot leak). out[b] is the
// sum, mean or per-lane max of the real rows, 0 for a bag with none. Also the gradient with
// respect to perSampleWeights, which reads the same rows. The driver (src/embedding_bag.ts) has
// checked every id of every bag and the offsets before calling: no read here is out of bounds.
// Compiled like sums.ts, whose accumulation scheme the sum and mean follow.
//
// Accuracy (docs/SPEC.md "Accuracy"): a bag's rows are added in float32 (SIMD, in registers), at
// most ROWS_PER_PARTIAL ids at a time; a longer bag (the driver then passes `dim` f64s of scratch)
// adds each partial into a float64 row. If a sum is not finite (a real NaN or Inf, or float32
// overflow) the bag is summed again in float64, a slow path that keeps a finite mean finite and
// gives the reference's Inf or NaN otherwise. Max is exact: the lane maximum (rows.ts maxLanes,
// f32.max) propagates a real NaN.
import { REDUCER_MAX, REDUCER_MEAN, ROWS_PER_PARTIAL } from './constants';
import { fillRow } from './layout';
import { maxLanes, nonFiniteLanes, promoteHigh, promoteLow } from './rows';

// The call's arrays and sizes, set once by the exported function (short argument lists below).
let wBase: usize = 0;
let idsBase: usize = 0;
let pswBase: usize = 0;
let n: usize = 0;
let rowBytes: usize = 0;
let pad: i32 = -1;

function setCall(weight: usize, ids: usize, psw: usize, dim: u32, padId: i32): void {
  wBase = weight;
  idsBase = ids;
  pswBase = psw;
  n = <usize>dim;
  rowBytes = n << 2;
  pad = padId;
}

function idAt(i: usize): i32 {
  return load<i32>(idsBase + (i << 2));
}

function rowOf(id: i32): usize {
  return wBase + <usize>id * rowBytes;
}

/**
 * out [batch, dim] = the bags of `ids` (int32 [nnz]) split by `offsets` (int32 [batch + 1]) over
 * `weight` [numEmbeddings, dim]; `psw` is perSampleWeights [nnz] or 0; `scratch` is `dim` f64s
 * (8-byte aligned) when some bag holds more than ROWS_PER_PARTIAL ids, else 0. `padId` is -1 for
 * none. The reducer codes are the masked reductions' (constants.ts): sum, mean or max.
 */
export function bagReduce(
  reducer: i32,
  weight: usize,
  ids: usize,
  offsets: usize,
  psw: usize,
  out: usize,
  scratch: usize,
  batch: u32,
  dim: u32,
  padId: i32,
): void {
  setCall(weight, ids, psw, dim, padId);
  for (let b: usize = 0; b < <usize>batch; b++) {
    const from = <usize>load<i32>(offsets + (b << 2));
    const to = <usize>load<i32>(offsets + (b << 2), 4);
    const o = out + b * rowBytes;
    if (reducer === REDUCER_MAX) maxBag(o, from, to);
    else sumBag(o, scratch, from, to, reducer === REDUCER_MEAN);
  }
}

/** Real ids (not padding) of the bag. */
function countReal(from: usize, to: usize): u32 {
  let count: u32 = 0;
  for (let i = from; i < to; i++) count += <u32>(idAt(i) !== pad);
  return count;
}

function scaleAt(i: usize): f32 {
  return pswBase !== 0 ? load<f32>(pswBase + (i << 2)) : 1;
}

// Sums and means. The bag is walked once per block of lanes (16, then 4, then single lanes), with
// the block's sums in registers: no accumulator in memory, so the loads of the next rows (random
// rows of a large table: cache misses) are not held up behind the additions. For dim 16, a row is
// one block and one cache line. With `acc` (a bag longer than ROWS_PER_PARTIAL), the float32 sums
// of every ROWS_PER_PARTIAL ids go into the float64 row at acc.

function sumBag(o: usize, acc: usize, from: usize, to: usize, mean: bool): void {
  const count = countReal(from, to);
  if (count === 0) {
    fillRow(o, n, 0);
    return;
  }
  if (acc !== 0) {
    for (let c: usize = 0; c < n; c++) store<f64>(acc + (c << 3), 0);
  }
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= n; c += 16) sum16(o, acc, from, to, c);
    for (; c + 4 <= n; c += 4) sum4(o, acc, from, to, c);
  }
  for (; c < n; c++) sum1(o, acc, from, to, c);
  // A sum that is not finite (a real NaN or Inf, or float32 overflow, which a mean may undo) is
  // recomputed in float64: a non-finite partial leaves the float64 sum non-finite too. (The
  // float32 division of a float32 sum by the count rounds as the float64 one does.)
  const divisor: f64 = mean ? <f64>count : 1;
  let bad = false;
  if (acc !== 0) {
    for (c = 0; c < n; c++) {
      const s = load<f64>(acc + (c << 3));
      bad = bad || s - s !== 0;
      store<f32>(o + (c << 2), <f32>(s / divisor));
    }
  } else {
    bad = anyNonFinite(o);
    if (mean && !bad) divideRow(o, <f32>divisor);
  }
  if (bad) exactBag(o, from, to, divisor);
}

/** True if any of the `n` floats at `p` is NaN or ±Inf (v - v is then NaN, else 0). */
function anyNonFinite(p: usize): bool {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let any = f32x4.splat(0);
    for (; c + 4 <= n; c += 4) {
      const v = v128.load(p + (c << 2));
      any = v128.or(any, nonFiniteLanes(v));
    }
    if (v128.any_true(any)) return true;
  }
  for (; c < n; c++) {
    const v = load<f32>(p + (c << 2));
    if (v - v !== 0) return true;
  }
  return false;
}

/** dst[c] /= d */
function divideRow(dst: usize, d: f32): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const dv = f32x4.splat(d);
    for (; c + 4 <= n; c += 4) {
      const p = dst + (c << 2);
      v128.store(p, f32x4.div(v128.load(p), dv));
    }
  }
  for (; c < n; c++) {
    const p = dst + (c << 2);
    store<f32>(p, load<f32>(p) / d);
  }
}

function sum16(o: usize, acc: usize, from: usize, to: usize, c: usize): void {
  const at = acc + (c << 3);
  for (let start = from; start < to; start += <usize>ROWS_PER_PARTIAL) {
    const end = min<usize>(to, start + <usize>ROWS_PER_PARTIAL);
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let i = start; i < end; i++) {
      const id = idAt(i);
      if (id === pad) continue;
      const s = f32x4.splat(scaleAt(i));
      const p = rowOf(id) + (c << 2);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p), s));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p, 16), s));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p, 32), s));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p, 48), s));
    }
    if (acc === 0) {
      const d = o + (c << 2);
      v128.store(d, a0);
      v128.store(d, a1, 16);
      v128.store(d, a2, 32);
      v128.store(d, a3, 48);
      return; // no scratch: the bag is at most ROWS_PER_PARTIAL long
    }
    addPartial(at, a0);
    addPartial(at + 32, a1);
    addPartial(at + 64, a2);
    addPartial(at + 96, a3);
  }
}

function sum4(o: usize, acc: usize, from: usize, to: usize, c: usize): void {
  const at = acc + (c << 3);
  for (let start = from; start < to; start += <usize>ROWS_PER_PARTIAL) {
    const end = min<usize>(to, start + <usize>ROWS_PER_PARTIAL);
    let a = f32x4.splat(0);
    for (let i = start; i < end; i++) {
      const id = idAt(i);
      if (id === pad) continue;
      a = f32x4.add(a, f32x4.mul(v128.load(rowOf(id) + (c << 2)), f32x4.splat(scaleAt(i))));
    }
    if (acc === 0) {
      v128.store(o + (c << 2), a);
      return;
    }
    addPartial(at, a);
  }
}

/** The 4 f64s at p += the 4 lanes of a. */
function addPartial(p: usize, a: v128): void {
  v128.store(p, f64x2.add(v128.load(p), promoteLow(a)));
  v128.store(p, f64x2.add(v128.load(p, 16), promoteHigh(a)), 16);
}

function sum1(o: usize, acc: usize, from: usize, to: usize, c: usize): void {
  const at = acc + (c << 3);
  for (let start = from; start < to; start += <usize>ROWS_PER_PARTIAL) {
    const end = min<usize>(to, start + <usize>ROWS_PER_PARTIAL);
    let a: f32 = 0;
    for (let i = start; i < end; i++) {
      const id = idAt(i);
      if (id !== pad) a += load<f32>(rowOf(id) + (c << 2)) * scaleAt(i);
    }
    if (acc === 0) {
      store<f32>(o + (c << 2), a);
      return;
    }
    store<f64>(at, load<f64>(at) + <f64>a);
  }
}

/** The slow path: every lane of the bag summed in float64, then divided and rounded once. */
function exactBag(o: usize, from: usize, to: usize, divisor: f64): void {
  for (let c: usize = 0; c < n; c++) {
    let s: f64 = 0;
    for (let i = from; i < to; i++) {
      const id = idAt(i);
      if (id === pad) continue;
      s += <f64>load<f32>(rowOf(id) + (c << 2)) * <f64>scaleAt(i);
    }
    store<f32>(o + (c << 2), <f32>(s / divisor));
  }
}

// Max: the same blocks, the lane maximum in registers (-Inf to start: a real row always wins).

function maxBag(o: usize, from: usize, to: usize): void {
  if (countReal(from, to) === 0) {
    fillRow(o, n, 0);
    return;
  }
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= n; c += 16) max16(o + (c << 2), from, to, c);
    for (; c + 4 <= n; c += 4) {
      let m = f32x4.splat(-Infinity);
      for (let i = from; i < to; i++) {
        const id = idAt(i);
        if (id !== pad) m = maxLanes(m, v128.load(rowOf(id) + (c << 2)));
      }
      v128.store(o + (c << 2), m);
    }
  }
  for (; c < n; c++) {
    let m: f32 = -Infinity;
    for (let i = from; i < to; i++) {
      const id = idAt(i);
      if (id !== pad) m = max<f32>(m, load<f32>(rowOf(id) + (c << 2)));
    }
    store<f32>(o + (c << 2), m);
  }
}

function max16(d: usize, from: usize, to: usize, c: usize): void {
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let m2 = m0;
  let m3 = m0;
  for (let i = from; i < to; i++) {
    const id = idAt(i);
    if (id === pad) continue;
    const p = rowOf(id) + (c << 2);
    m0 = maxLanes(m0, v128.load(p));
    m1 = maxLanes(m1, v128.load(p, 16));
    m2 = maxLanes(m2, v128.load(p, 32));
    m3 = maxLanes(m3, v128.load(p, 48));
  }
  v128.store(d, m0);
  v128.store(d, m1, 16);
  v128.store(d, m2, 32);
  v128.store(d, m3, 48);
}

/**
 * The gradient with respect to perSampleWeights (mode sum): out[i] = dy[b] . weight[ids[i]] for
 * each id i of bag b, in float64 (products of two float32s are exact there); 0 at padding and at
 * the ids after the last bag (offsets[batch] .. nnz), so every element of out is written.
 */
export function bagDots(
  dy: usize,
  weight: usize,
  ids: usize,
  offsets: usize,
  out: usize,
  batch: u32,
  nnz: u32,
  dim: u32,
  padId: i32,
): void {
  setCall(weight, ids, 0, dim, padId);
  let i: usize = 0;
  for (let b: usize = 0; b < <usize>batch; b++) {
    const g = dy + b * rowBytes;
    const to = <usize>load<i32>(offsets + (b << 2), 4);
    for (; i < to; i++) {
      const id = idAt(i);
      store<f32>(out + (i << 2), id === pad ? 0 : dot(g, rowOf(id)));
    }
  }
  for (; i < <usize>nnz; i++) store<f32>(out + (i << 2), 0);
}

function dot(a: usize, b: usize): f32 {
  let c: usize = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (; c + 4 <= n; c += 4) {
      const x = v128.load(a + (c << 2));
      const y = v128.load(b + (c << 2));
      lo = f64x2.add(lo, f64x2.mul(f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(y)));
      const xh = v128.shuffle<f32>(x, x, 2, 3, 0, 1);
      const yh = v128.shuffle<f32>(y, y, 2, 3, 0, 1);
      hi = f64x2.add(hi, f64x2.mul(f64x2.promote_low_f32x4(xh), f64x2.promote_low_f32x4(yh)));
    }
    const t = f64x2.add(lo, hi);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  }
  for (; c < n; c++) s += <f64>load<f32>(a + (c << 2)) * <f64>load<f32>(b + (c << 2));
  return <f32>s;
}
