import type { EmbeddingBagMode, ReducerName } from '@masked-ops/core';
import { fastExp } from './exp.js';
import { maskWords, validIn } from './mask_words.js';

/**
 * Everything reducer-specific of the cpu kernels. The drivers (masked_reduce.ts,
 * masked_reduce_grad.ts) own the geometry and call these per *run*: the mask positions
 * `start + t * stride` for t < n, each selecting `inner` contiguous x values at `m * inner`. One
 * call folds a whole run, so the hot loops stay inside one monomorphic function per reducer.
 * Accumulators are float64: the float32 result is rounded once, which keeps long reductions
 * (T = 100,000) well inside the bound and a mean of finite values finite near float32's limit.
 *
 * Each hot loop is a top-level function, never a closure made per reducer by a factory: V8 shares
 * one feedback vector (and optimized code) among closures from the same source position, so two
 * reducers built by one factory made each other's calls polymorphic and deoptimised whichever ran
 * second (maskedMin was 3-6x slower than maskedMax only because it ran after it).
 */
export interface CpuReducer {
  /** Float64s of state per column: the driver's accumulator holds `width * inner` values. */
  readonly width: number;
  /** Resets an output row's accumulator. */
  init(acc: Float64Array, inner: number): void;
  /**
   * Folds the valid positions of one run into acc; returns how many were valid. `seen`: valid
   * positions of the row folded by earlier runs (0: acc holds what init left).
   */
  fold(
    acc: Float64Array,
    xs: Float32Array,
    valid: Uint8Array,
    start: number,
    n: number,
    stride: number,
    inner: number,
    seen: number,
  ): number;
  /**
   * Writes the output row of each output (the table row's `outputs`, in order) from acc and the
   * row's valid count. Called only when count > 0: the driver fills every output with the table's
   * empty value first.
   */
  finish(
    acc: Float64Array,
    count: number,
    outs: readonly Float32Array[],
    outOff: number,
    inner: number,
  ): void;
}

/** Data of one gradient call; `xs`/`ys` only for reducers whose gradient reads them. */
export interface GradData {
  dx: Float32Array;
  /** The cotangent of each forward output, in the table row's order (`dy`, `dy1`, ...). */
  dys: readonly Float32Array[];
  valid: Uint8Array;
  xs?: Float32Array;
  /** The (first) forward output, keepDims layout: row `o` at `o * inner`. */
  ys?: Float32Array;
  inner: number;
}

/**
 * A gradient in two sweeps over an output row's runs: `gather` collects per-column statistics of
 * the slice (st, `inner` float64s, zeroed by the driver: the valid count for a mean, the tie
 * counts for max/min), then `scatter` writes dx at the valid positions. dx starts zeroed, so
 * masked positions and empty slices stay 0.
 */
export interface CpuGradReducer {
  gather(st: Float64Array, d: GradData, o: number, start: number, n: number, stride: number): void;
  scatter(st: Float64Array, d: GradData, o: number, start: number, n: number, stride: number): void;
}

/**
 * acc[f] += scale * row f, for the row of `inner` values at `base`: the sum's step, shared by the
 * masked reduce (scale 1: x * 1 is x, NaN and Inf included) and the embedding bag (scale: the
 * per-sample weight).
 */
function addRow(acc: Float64Array, xs: Float32Array, base: number, inner: number, scale: number) {
  for (let f = 0; f < inner; f++) acc[f]! += scale * xs[base + f]!;
}

/** acc[f] = max(acc[f], sign * row f): the extremum's step (see foldExtremum), shared likewise. */
function maxRow(acc: Float64Array, xs: Float32Array, base: number, inner: number, sign: number) {
  for (let f = 0; f < inner; f++) acc[f] = Math.max(acc[f]!, sign * xs[base + f]!);
}

/** Writes one float64 row of acc (from `from`) to an output row. */
function copyOut(
  acc: Float64Array,
  from: number,
  out: Float32Array,
  outOff: number,
  inner: number,
) {
  for (let f = 0; f < inner; f++) out[outOff + f] = acc[from + f]!;
}

function foldSum(
  acc: Float64Array,
  xs: Float32Array,
  valid: Uint8Array,
  start: number,
  n: number,
  stride: number,
  inner: number,
): number {
  if (inner === 1) {
    // Rows of one value (a per-token loss [batch, time] with a full mask): branch-free, since a
    // random mask defeats branch prediction. x * valid is exact for finite x (x * 0 = 0); a
    // non-finite x under the mask would turn it into NaN, so a non-finite result is recomputed
    // by selection below, which also gives the right NaN/Inf when the valid values hold them.
    let sum = 0;
    let sum1 = 0;
    let count = 0;
    let m = start;
    const words = stride === 1 && n >= 16 ? maskWords(valid) : undefined;
    if (words !== undefined) {
      const end = start + n;
      for (; (m & 3) !== 0; m++) {
        const ok = valid[m]!;
        count += ok;
        sum += xs[m]! * ok;
      }
      // Eight positions a step on two add chains, each flag taken from its mask word (one load
      // per four positions, see mask_words.ts). Two words of padding skip their x: a padded tail
      // is not read.
      for (; m + 8 <= end; m += 8) {
        const w = words[m >> 2]!;
        const v = words[(m >> 2) + 1]!;
        if ((w | v) === 0) continue;
        count += validIn(w) + validIn(v);
        sum += xs[m]! * (w & 1) + xs[m + 2]! * ((w >>> 16) & 1);
        sum1 += xs[m + 1]! * ((w >>> 8) & 1) + xs[m + 3]! * (w >>> 24);
        sum += xs[m + 4]! * (v & 1) + xs[m + 6]! * ((v >>> 16) & 1);
        sum1 += xs[m + 5]! * ((v >>> 8) & 1) + xs[m + 7]! * (v >>> 24);
      }
    }
    // The rest (all of it without the words), position by position.
    for (let t = m - start; t < n; t++, m += stride) {
      const ok = valid[m]!;
      count += ok;
      sum += xs[m]! * ok;
    }
    sum += sum1;
    if (Number.isFinite(sum)) {
      acc[0]! += sum;
      return count;
    }
  }
  let count = 0;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue; // selection, not multiplication: NaN/Inf here never leak
    count++;
    addRow(acc, xs, m * inner, inner, 1);
  }
  return count;
}

/**
 * A valid value v replaces best when it beats it: `!(v <= best)` is also true for a NaN v (it
 * becomes the result) and for every v once best is NaN, where Math.max keeps the NaN. On data in
 * no particular order the best grows about log(n) times, so this branch is almost never taken and
 * is predicted well; the mask flag is tested only after it, since a random mask's flag would not
 * be.
 */
const beats = (v: number, best: number): boolean => !(v <= best);

/**
 * max, and min as `-max(-x)`: one loop for both (negation is exact, and NaN stays NaN), so each
 * call site sees one function. Math.max propagates NaN (a valid NaN is the result: it replaces
 * anything and nothing replaces it).
 */
function foldExtremum(
  acc: Float64Array,
  xs: Float32Array,
  valid: Uint8Array,
  start: number,
  n: number,
  stride: number,
  inner: number,
  sign: number,
): number {
  let count = 0;
  if (inner === 1) {
    // Rows of one value: a position is looked at only when it beats the best (see beats), so
    // masked values, NaN and infinities included, are never taken.
    let best = acc[0]!;
    let m = start;
    const words = stride === 1 && n >= 16 ? maskWords(valid) : undefined;
    if (words !== undefined) {
      // Four positions a step, their flags in one mask word (mask_words.ts); a word of padding
      // skips its x.
      const end = start + n;
      for (; (m & 3) !== 0; m++) {
        const ok = valid[m]!;
        count += ok;
        const a = sign * xs[m]!;
        if (beats(a, best) && ok !== 0) best = Math.max(best, a);
      }
      for (; m + 4 <= end; m += 4) {
        const w = words[m >> 2]!;
        if (w === 0) continue;
        count += validIn(w);
        const a = sign * xs[m]!;
        const b = sign * xs[m + 1]!;
        const c = sign * xs[m + 2]!;
        const d = sign * xs[m + 3]!;
        if (beats(a, best) && (w & 1) !== 0) best = Math.max(best, a);
        if (beats(b, best) && (w & 0x100) !== 0) best = Math.max(best, b);
        if (beats(c, best) && (w & 0x10000) !== 0) best = Math.max(best, c);
        if (beats(d, best) && (w & 0x1000000) !== 0) best = Math.max(best, d);
      }
    }
    // The rest (all of it without the words), position by position.
    for (let t = m - start; t < n; t++, m += stride) {
      const ok = valid[m]!;
      count += ok;
      const a = sign * xs[m]!;
      if (beats(a, best) && ok !== 0) best = Math.max(best, a);
    }
    acc[0] = best;
    return count;
  }
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue;
    count++;
    maxRow(acc, xs, m * inner, inner, sign);
  }
  return count;
}

function extremum(sign: 1 | -1): CpuReducer {
  return {
    width: 1,
    init: (acc) => acc.fill(Number.NEGATIVE_INFINITY),
    fold: (acc, xs, valid, start, n, stride, inner) =>
      foldExtremum(acc, xs, valid, start, n, stride, inner, sign),
    finish: (acc, _count, outs, outOff, inner) => {
      const out = outs[0]!;
      for (let f = 0; f < inner; f++) out[outOff + f] = sign * acc[f]!;
    },
  };
}

/**
 * Log-sum-exp in one pass: per column a running max `m` (acc[f]) and `s = sum exp(x - m)`
 * (acc[inner + f]), rescaled when the max grows; the result is `m + log(s)`. On random data the
 * max grows about log(n) times per column, so the rescaling branch is well predicted and each
 * element costs one exp (fastExp, of z = x - m <= 0). The equal branch keeps the infinities
 * right without a second pass: x = m = -Infinity adds 1 where exp(x - m) would be NaN (the
 * result is -Infinity + log(s) = -Infinity whatever s is), x = m = +Infinity adds 1 (+Infinity +
 * log(s) = +Infinity), and a later finite max resets s to 1 (s * exp(-Infinity) = 0). A valid
 * NaN makes s NaN for good. Masked rows are skipped by selection: a row-wide test is predicted
 * well for inner > 1, and for inner = 1 a padded branch-free pass would still pay an exp per
 * masked element.
 */
function foldLogSumExp(
  acc: Float64Array,
  xs: Float32Array,
  valid: Uint8Array,
  start: number,
  n: number,
  stride: number,
  inner: number,
): number {
  let count = 0;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue;
    count++;
    const base = m * inner;
    for (let f = 0; f < inner; f++) {
      const v = xs[base + f]!;
      const top = acc[f]!;
      if (v > top) {
        acc[inner + f] = acc[inner + f]! * fastExp(top - v) + 1;
        acc[f] = v;
      } else if (v === top) acc[inner + f]! += 1;
      else acc[inner + f]! += fastExp(v - top);
    }
  }
  return count;
}

/**
 * Moments as shifted sums (docs/SPEC.md "Moments details"): with K the slice's first valid value
 * per column, s1 = sum(x - K) and s2 = sum((x - K)^2) in float64, so mean = K + s1 / n and
 * variance = (s2 - s1^2 / n) / n lose nothing to an offset (1e4 + noise keeps its variance):
 * the cancellation is bounded by (mean - K)^2, at most the largest squared deviation. acc holds
 * [K | s1 | s2]. A non-finite first value shifts by 0 instead, so s1 has the sign rules of a
 * plain sum (mean ±Infinity, or NaN for both signs or a NaN) and s2 is non-finite, which makes
 * the variance NaN; finite float32 values never overflow these float64 sums.
 */
function foldMoments(
  acc: Float64Array,
  xs: Float32Array,
  valid: Uint8Array,
  start: number,
  n: number,
  stride: number,
  inner: number,
  seen: number,
): number {
  let t = 0;
  let m = start;
  if (seen === 0) {
    while (t < n && valid[m] === 0) {
      t++;
      m += stride;
    }
    if (t === n) return 0;
    for (let f = 0, base = m * inner; f < inner; f++) {
      const v = xs[base + f]!;
      acc[f] = Number.isFinite(v) ? v : 0;
    }
  }
  return foldShifted(acc, xs, valid, m, n - t, stride, inner);
}

function foldShifted(
  acc: Float64Array,
  xs: Float32Array,
  valid: Uint8Array,
  start: number,
  n: number,
  stride: number,
  inner: number,
): number {
  const i1 = inner;
  const i2 = 2 * inner;
  if (inner === 1) {
    // Branch-free over the mask, as for sums; a non-finite x anywhere (valid or not) makes s2
    // non-finite and the run is redone by selection.
    const k = acc[0]!;
    let s1 = 0;
    let s2 = 0;
    let count = 0;
    for (let t = 0, m = start; t < n; t++, m += stride) {
      const ok = valid[m]!;
      count += ok;
      const d = (xs[m]! - k) * ok;
      s1 += d;
      s2 += d * d;
    }
    if (Number.isFinite(s2)) {
      acc[i1]! += s1;
      acc[i2]! += s2;
      return count;
    }
  }
  let count = 0;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue;
    count++;
    const base = m * inner;
    for (let f = 0; f < inner; f++) {
      const d = xs[base + f]! - acc[f]!;
      acc[i1 + f]! += d;
      acc[i2 + f]! += d * d;
    }
  }
  return count;
}

export const CPU_REDUCERS: Record<ReducerName, CpuReducer> = {
  sum: {
    width: 1,
    init: (acc) => acc.fill(0),
    fold: foldSum,
    finish: (acc, _count, outs, outOff, inner) => copyOut(acc, 0, outs[0]!, outOff, inner),
  },
  mean: {
    width: 1,
    init: (acc) => acc.fill(0),
    fold: foldSum,
    finish: (acc, count, outs, outOff, inner) => {
      const out = outs[0]!;
      for (let f = 0; f < inner; f++) out[outOff + f] = acc[f]! / count;
    },
  },
  max: extremum(1),
  min: extremum(-1),
  logsumexp: {
    width: 2,
    init: (acc, inner) => {
      acc.fill(Number.NEGATIVE_INFINITY, 0, inner);
      acc.fill(0, inner);
    },
    fold: foldLogSumExp,
    finish: (acc, _count, outs, outOff, inner) => {
      const out = outs[0]!;
      for (let f = 0; f < inner; f++) out[outOff + f] = acc[f]! + Math.log(acc[inner + f]!);
    },
  },
  moments: {
    width: 3,
    init: (acc) => acc.fill(0),
    fold: foldMoments,
    finish: (acc, count, outs, outOff, inner) => {
      const [mean, variance] = outs as [Float32Array, Float32Array];
      for (let f = 0; f < inner; f++) {
        const s1 = acc[inner + f]!;
        mean[outOff + f] = acc[f]! + s1 / count;
        // Never negative; Math.max keeps a NaN (a comparison would turn it into 0).
        variance[outOff + f] = Math.max(0, (acc[2 * inner + f]! - (s1 * s1) / count) / count);
      }
    },
  },
};

/** Every valid position of a run gets its output row of dy divided by `divisor` (sum, mean). */
function broadcast(
  d: GradData,
  o: number,
  start: number,
  n: number,
  stride: number,
  divisor: number,
): void {
  const { dx, valid, inner } = d;
  const dy = d.dys[0]!;
  const dyBase = o * inner;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue;
    const base = m * inner;
    for (let f = 0; f < inner; f++) dx[base + f] = dy[dyBase + f]! / divisor;
  }
}

/** Counts the valid positions of a run into st[0] (every column of a row has the same count). */
const gatherCount: CpuGradReducer['gather'] = (st, d, _o, start, n, stride) => {
  for (let t = 0, m = start; t < n; t++, m += stride) if (d.valid[m] !== 0) st[0]!++;
};

/** x ties y (NaN ties NaN: a valid NaN is the max). */
const ties = (x: number, y: number): boolean => x === y || (Number.isNaN(x) && Number.isNaN(y));

const tiedGradient: CpuGradReducer = {
  gather: (st, d, o, start, n, stride) => {
    const { xs, ys, valid, inner } = d;
    for (let t = 0, m = start; t < n; t++, m += stride) {
      if (valid[m] === 0) continue;
      for (let f = 0; f < inner; f++) if (ties(xs![m * inner + f]!, ys![o * inner + f]!)) st[f]!++;
    }
  },
  scatter: (st, d, o, start, n, stride) => {
    const { dx, xs, ys, valid, inner } = d;
    const dy = d.dys[0]!;
    for (let t = 0, m = start; t < n; t++, m += stride) {
      if (valid[m] === 0) continue;
      const base = m * inner;
      for (let f = 0; f < inner; f++) {
        if (ties(xs![base + f]!, ys![o * inner + f]!)) dx[base + f] = dy[o * inner + f]! / st[f]!;
      }
    }
  },
};

export const CPU_GRAD_REDUCERS: Record<ReducerName, CpuGradReducer> = {
  sum: {
    gather: () => {},
    scatter: (_, d, o, start, n, stride) => broadcast(d, o, start, n, stride, 1),
  },
  mean: {
    gather: gatherCount,
    scatter: (st, d, o, start, n, stride) => broadcast(d, o, start, n, stride, st[0]!),
  },
  max: tiedGradient,
  min: tiedGradient,
  logsumexp: {
    gather: () => {},
    // dy * softmax: exp(x - y) at the float32 y the op returned; 0 where y = -Infinity (an
    // empty slice, or all valid values -Infinity), where exp(x - y) would be NaN or Infinity.
    scatter: (_, d, o, start, n, stride) => {
      const { dx, xs, ys, valid, inner } = d;
      const dy = d.dys[0]!;
      const row = o * inner;
      for (let t = 0, m = start; t < n; t++, m += stride) {
        if (valid[m] === 0) continue;
        const base = m * inner;
        for (let f = 0; f < inner; f++) {
          const y = ys![row + f]!;
          if (y !== Number.NEGATIVE_INFINITY)
            dx[base + f] = dy[row + f]! * fastExp(xs![base + f]! - y);
        }
      }
    },
  },
  moments: {
    gather: gatherCount,
    // (dmean + 2 dvariance (x - mean)) / count, at the float32 mean the op returned. A zero
    // dvariance (the variance unused: tfjs passes zeros) adds exactly nothing, also where x - mean
    // is not finite (a valid ±Infinity), as a gradient of the mean alone must.
    scatter: (st, d, o, start, n, stride) => {
      const { dx, xs, ys, valid, inner } = d;
      const [dMean, dVariance] = d.dys as [Float32Array, Float32Array];
      const row = o * inner;
      const count = st[0]!;
      for (let t = 0, m = start; t < n; t++, m += stride) {
        if (valid[m] === 0) continue;
        const base = m * inner;
        for (let f = 0; f < inner; f++) {
          const dv = dVariance[row + f]!;
          const spread = dv === 0 ? 0 : 2 * dv * (xs![base + f]! - ys![row + f]!);
          dx[base + f] = (dMean[row + f]! + spread) / count;
        }
      }
    },
  },
};

/*
 * The embedding bag (docs/SPEC.md "Embedding bag") is the masked reduce with another row source
 * and mask: bag b folds the weight rows `ids[i]` for i in [offsets[b], offsets[b + 1]), skipping
 * the padding id. Its forward kernel keeps the sum / mean / max reducers' state, init and finish
 * (CPU_REDUCERS) and swaps only the fold below, which reads the rows through the ids: one pass,
 * never an [nnz, dim] gather. Ids are range-checked by the kernel before any of these run.
 */

/**
 * Folds bag [from, to) into acc; returns its real ids (not `pad`; -1: no padding id).
 * `scales`: the per-sample weights (mode 'sum' only).
 */
export type CpuBagFold = (
  acc: Float64Array,
  ws: Float32Array,
  ids: Int32Array,
  scales: Float32Array | undefined,
  from: number,
  to: number,
  pad: number,
  dim: number,
) => number;

const foldBagSum: CpuBagFold = (acc, ws, ids, scales, from, to, pad, dim) => {
  let count = 0;
  // Selection, never multiplication by a 0/1 mask: NaN/Inf in the padding row never leak.
  if (scales === undefined) {
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      if (id === pad) continue;
      count++;
      addRow(acc, ws, id * dim, dim, 1);
    }
  } else {
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      if (id === pad) continue;
      count++;
      addRow(acc, ws, id * dim, dim, scales[i]!); // float32 * float32 is exact in float64
    }
  }
  return count;
};

const foldBagMax: CpuBagFold = (acc, ws, ids, _scales, from, to, pad, dim) => {
  let count = 0;
  for (let i = from; i < to; i++) {
    const id = ids[i]!;
    if (id === pad) continue;
    count++;
    maxRow(acc, ws, id * dim, dim, 1);
  }
  return count;
};

/** The fold of each mode; init and finish are CPU_REDUCERS[mode]'s. */
export const CPU_BAG_FOLDS: Record<EmbeddingBagMode, CpuBagFold> = {
  sum: foldBagSum,
  mean: foldBagSum,
  max: foldBagMax,
};

/** Data of one d-weight call; `scales` with per-sample weights, `ws`/`ys` for mode 'max'. */
export interface BagGradData {
  /** d weight `[numEmbeddings, dim]`, zero-filled by the kernel: untouched rows stay 0. */
  dw: Float32Array;
  /** `[batch, dim]`. */
  dy: Float32Array;
  ids: Int32Array;
  pad: number;
  dim: number;
  scales?: Float32Array;
  ws?: Float32Array;
  /** The forward output `[batch, dim]`. */
  ys?: Float32Array;
  /** `dim` float64s of scratch (the tie counts of mode 'max'). */
  st: Float64Array;
}

/** Scatter-adds bag b's share of dy into the rows of its real ids. */
export type CpuBagGrad = (d: BagGradData, b: number, from: number, to: number) => void;

/**
 * dw[id] += coefficient * dy[b] for every real id of bag [from, to) (the coefficient of
 * position i: scales[i] when given, else `coefficient`). The product is float64; each element
 * of dw is rounded once per contribution (a float64 table the size of weight would double the
 * memory of the gradient for the few ids a row usually gets).
 */
function scatterBag(d: BagGradData, b: number, from: number, to: number, coefficient: number) {
  const { dw, dy, ids, pad, dim, scales } = d;
  const row = b * dim;
  for (let i = from; i < to; i++) {
    const id = ids[i]!;
    if (id === pad) continue;
    const c = scales === undefined ? coefficient : scales[i]!;
    const base = id * dim;
    for (let f = 0; f < dim; f++) dw[base + f]! += c * dy[row + f]!;
  }
}

export const CPU_BAG_GRADS: Record<EmbeddingBagMode, CpuBagGrad> = {
  sum: (d, b, from, to) => scatterBag(d, b, from, to, 1),
  mean: (d, b, from, to) => {
    const { ids, pad } = d;
    let count = 0;
    for (let i = from; i < to; i++) if (ids[i] !== pad) count++;
    if (count > 0) scatterBag(d, b, from, to, 1 / count);
  },
  // dy / ties at the real elements tied with the bag's max, per column (a NaN ties a NaN): the
  // masked max's gradient, gathered then scattered through the ids. A duplicate id counts once
  // per position, so its row gets the shares of all of them.
  max: (d, b, from, to) => {
    const { dw, dy, ids, pad, dim, st } = d;
    const ws = d.ws!;
    const ys = d.ys!;
    const row = b * dim;
    st.fill(0);
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      if (id === pad) continue;
      for (let f = 0; f < dim; f++) if (ties(ws[id * dim + f]!, ys[row + f]!)) st[f]!++;
    }
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      if (id === pad) continue;
      const base = id * dim;
      for (let f = 0; f < dim; f++) {
        if (ties(ws[base + f]!, ys[row + f]!)) dw[base + f]! += dy[row + f]! / st[f]!;
      }
    }
  },
};
