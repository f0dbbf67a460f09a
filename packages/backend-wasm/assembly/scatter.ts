// Scatter-adds: tfjs's UnsortedSegmentSum (the gradient of tf.gather, which tfjs-backend-wasm
// 4.x lacks) and the embedding bag's gradient with respect to weight. Both zero their output and
// add rows of the input into the rows their ids name, SIMD over the row: one pass over the input,
// linear in its size plus the output's. Compiled like sums.ts.
import { REDUCER_MAX, REDUCER_MEAN } from './constants';
import { fillRow } from './layout';
import { addScaledRow, tied, tiedLanes } from './rows';

/**
 * UnsortedSegmentSum: x is `chunks` chunks of `n` elements (float32, or int32 when `isInt`),
 * chunk c with segment id ids[c]; `m` consecutive chunks form one row of x (ids of shape
 * [x.shape[0], ...] with m = its size / x.shape[0], as tfjs-backend-cpu broadcasts them: a row of
 * ids spans the leading axes of x after the first). out [segments, ...x.shape.slice(1)] gets
 * chunk c added at chunk ids[c] * m + (c mod m). Ids outside [0, segments) are dropped, as on
 * tfjs's cpu backend. Integer sums wrap (int32 arithmetic).
 */
export function segmentSum(
  x: usize,
  ids: usize,
  out: usize,
  chunks: u32,
  m: u32,
  n: u32,
  segments: u32,
  isInt: i32,
): void {
  const size = <usize>n;
  const rowBytes = size << 2;
  // 0.0f is all zero bits: the same fill serves int32.
  fillRow(out, <usize>segments * <usize>m * size, 0);
  let j: u32 = 0;
  for (let c: usize = 0; c < <usize>chunks; c++) {
    const id = load<i32>(ids + (c << 2));
    if (<u32>id < segments) {
      const dst = out + (<usize>id * <usize>m + <usize>j) * rowBytes;
      const src = x + c * rowBytes;
      if (isInt !== 0) addIntRow(dst, src, size);
      else addScaledRow(dst, src, 1, size);
    }
    if (++j === m) j = 0;
  }
}

function addIntRow(dst: usize, src: usize, size: usize): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= size; c += 4) {
      const d = dst + (c << 2);
      v128.store(d, i32x4.add(v128.load(d), v128.load(src + (c << 2))));
    }
  }
  for (; c < size; c++) {
    const d = dst + (c << 2);
    store<i32>(d, load<i32>(d) + load<i32>(src + (c << 2)));
  }
}

/**
 * EmbeddingBagGrad: dw [numEmbeddings, dim] = 0, then each bag's share of its dy row added into
 * the rows of its real ids: dy / count (mean), dy * perSampleWeights[i] (sum; `psw` 0 for none),
 * or, for max, dy / ties in the lanes where the id's row is tied with the forward output y (equal,
 * or both NaN), 0 elsewhere; ties counts the bag's real positions tied in that lane, so tied rows
 * split dy evenly and a duplicated id gets each of its shares. `q` is `dim` floats of scratch
 * (the bag's share); `weight` and `y` are read by max only. Rows no real id touches stay 0.
 */
export function bagScatter(
  reducer: i32,
  dy: usize,
  ids: usize,
  offsets: usize,
  psw: usize,
  weight: usize,
  y: usize,
  dw: usize,
  q: usize,
  batch: u32,
  dim: u32,
  pad: i32,
  numEmbeddings: u32,
): void {
  const n = <usize>dim;
  const rowBytes = n << 2;
  const max = reducer === REDUCER_MAX;
  fillRow(dw, <usize>numEmbeddings * n, 0);
  for (let b: usize = 0; b < <usize>batch; b++) {
    const from = <usize>load<i32>(offsets + (b << 2));
    const to = <usize>load<i32>(offsets + (b << 2), 4);
    const g = dy + b * rowBytes;
    const yRow = y + b * rowBytes;
    // The divisor row in q: ties per lane (max) or the count of real ids (mean), then q = dy / it.
    // Where it is 0 (an empty bag, never an untied lane of a non-empty one) nothing reads q.
    let count: u32 = 0;
    fillRow(q, n, 0);
    for (let i = from; i < to; i++) {
      const id = load<i32>(ids + (i << 2));
      if (id === pad) continue;
      count++;
      if (max) countTies(q, weight + <usize>id * rowBytes, yRow, n);
    }
    if (count === 0) continue;
    if (!max) fillRow(q, n, reducer === REDUCER_MEAN ? <f32>count : 1);
    divideInto(q, g, n);
    for (let i = from; i < to; i++) {
      const id = load<i32>(ids + (i << 2));
      if (id === pad) continue;
      const dst = dw + <usize>id * rowBytes;
      if (max) addTied(dst, q, weight + <usize>id * rowBytes, yRow, n);
      else addScaledRow(dst, q, psw !== 0 ? load<f32>(psw + (i << 2)) : 1, n);
    }
  }
}

/** counts[c] += row[c] tied with y[c] ? 1 : 0 */
function countTies(counts: usize, row: usize, yp: usize, n: usize): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; c + 4 <= n; c += 4) {
      const p = counts + (c << 2);
      const t = tiedLanes(v128.load(row + (c << 2)), v128.load(yp + (c << 2)));
      v128.store(p, f32x4.add(v128.load(p), v128.and(one, t)));
    }
  }
  for (; c < n; c++) {
    const p = counts + (c << 2);
    if (tied(load<f32>(row + (c << 2)), load<f32>(yp + (c << 2)))) store<f32>(p, load<f32>(p) + 1);
  }
}

/** q[c] = g[c] / q[c] */
function divideInto(q: usize, g: usize, n: usize): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= n; c += 4) {
      const p = q + (c << 2);
      v128.store(p, f32x4.div(v128.load(g + (c << 2)), v128.load(p)));
    }
  }
  for (; c < n; c++) {
    const p = q + (c << 2);
    store<f32>(p, load<f32>(g + (c << 2)) / load<f32>(p));
  }
}

/** dst[c] += row[c] tied with y[c] ? q[c] : 0 (selected: an untied lane's q may be Inf or NaN). */
function addTied(dst: usize, q: usize, row: usize, yp: usize, n: usize): void {
  let c: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= n; c += 4) {
      const d = dst + (c << 2);
      const t = tiedLanes(v128.load(row + (c << 2)), v128.load(yp + (c << 2)));
      v128.store(d, f32x4.add(v128.load(d), v128.and(v128.load(q + (c << 2)), t)));
    }
  }
  for (; c < n; c++) {
    const d = dst + (c << 2);
    const keep = tied(load<f32>(row + (c << 2)), load<f32>(yp + (c << 2)));
    store<f32>(d, load<f32>(d) + select<f32>(load<f32>(q + (c << 2)), 0, keep));
  }
}
