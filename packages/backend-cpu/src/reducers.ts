import type { ReducerName } from '@masked-ops/core';

/**
 * Everything reducer-specific of the cpu kernels. The drivers (masked_reduce.ts,
 * masked_reduce_grad.ts) own the geometry and call these per *run*: the mask positions
 * `start + t * stride` for t < n, each selecting `inner` contiguous x values at `m * inner`. One
 * call folds a whole run, so the hot loops stay inside one monomorphic function per reducer.
 * Accumulators are float64: the float32 result is rounded once, which keeps long reductions
 * (T = 100,000) well inside the bound and a mean of finite values finite near float32's limit.
 */
export interface CpuReducer {
  /** Resets an output row's accumulator (`inner` values). */
  init(acc: Float64Array): void;
  /** Folds the valid positions of one run into acc; returns how many were valid. */
  fold(
    acc: Float64Array,
    xs: Float32Array,
    valid: Uint8Array,
    start: number,
    n: number,
    stride: number,
    inner: number,
  ): number;
  /** Writes the output row from acc and the row's valid count (0: the empty value). */
  finish(acc: Float64Array, count: number, out: Float32Array, outOff: number, inner: number): void;
}

/** Data of one gradient call; `xs`/`ys` only for reducers whose gradient reads them. */
export interface GradData {
  dx: Float32Array;
  dy: Float32Array;
  valid: Uint8Array;
  xs?: Float32Array;
  /** The forward output, keepDims layout: row `o` at `o * inner`. */
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

const sumFold: CpuReducer['fold'] = (acc, xs, valid, start, n, stride, inner) => {
  if (inner === 1) {
    // Rows of one value (a per-token loss [batch, time] with a full mask): branch-free, since a
    // random mask defeats branch prediction. x * valid is exact for finite x (x * 0 = 0); a
    // non-finite x under the mask would turn it into NaN, so a non-finite result is recomputed
    // by selection below, which also gives the right NaN/Inf when the valid values hold them.
    let sum = 0;
    let count = 0;
    for (let t = 0, m = start; t < n; t++, m += stride) {
      const ok = valid[m]!;
      count += ok;
      sum += xs[m]! * ok;
    }
    if (Number.isFinite(sum)) {
      acc[0]! += sum;
      return count;
    }
  }
  let count = 0;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue; // selection, not multiplication: NaN/Inf here never leak
    count++;
    const base = m * inner;
    for (let f = 0; f < inner; f++) acc[f]! += xs[base + f]!;
  }
  return count;
};

/**
 * max/min: `wins(v, a)` is true when v is more extreme than a (a plain comparison, false for
 * NaN). A valid NaN is the result: it replaces anything and nothing replaces it.
 */
function extremum(init: number, wins: (v: number, a: number) => boolean): CpuReducer {
  return {
    init: (acc) => acc.fill(init),
    fold: (acc, xs, valid, start, n, stride, inner) => {
      let count = 0;
      if (inner === 1) {
        // Branch-free over the mask, as for sums: a masked position reads x + ignore (the init,
        // ±Infinity), which never wins. A NaN anywhere (valid, or made by x = ∓Infinity under the
        // mask) sends the run to the selecting loop below.
        const ignore = [init, 0];
        let best = acc[0]!;
        let sawNaN = false;
        for (let t = 0, m = start; t < n; t++, m += stride) {
          const ok = valid[m]!;
          count += ok;
          const v = xs[m]! + ignore[ok]!;
          if (wins(v, best)) best = v;
          else if (Number.isNaN(v)) sawNaN = true;
        }
        if (!sawNaN && !Number.isNaN(best)) {
          acc[0] = best;
          return count;
        }
        count = 0;
      }
      for (let t = 0, m = start; t < n; t++, m += stride) {
        if (valid[m] === 0) continue;
        count++;
        const base = m * inner;
        for (let f = 0; f < inner; f++) {
          const v = xs[base + f]!;
          const a = acc[f]!;
          if (Number.isNaN(a)) continue;
          if (wins(v, a) || Number.isNaN(v)) acc[f] = v;
        }
      }
      return count;
    },
    finish: (acc, count, out, outOff, inner) => {
      if (count > 0) for (let f = 0; f < inner; f++) out[outOff + f] = acc[f]!;
    },
  };
}

export const CPU_REDUCERS: Record<ReducerName, CpuReducer> = {
  sum: {
    init: (acc) => acc.fill(0),
    fold: sumFold,
    finish: (acc, count, out, outOff, inner) => {
      if (count > 0) for (let f = 0; f < inner; f++) out[outOff + f] = acc[f]!;
    },
  },
  mean: {
    init: (acc) => acc.fill(0),
    fold: sumFold,
    finish: (acc, count, out, outOff, inner) => {
      if (count > 0) for (let f = 0; f < inner; f++) out[outOff + f] = acc[f]! / count;
    },
  },
  max: extremum(Number.NEGATIVE_INFINITY, (v, a) => v > a),
  min: extremum(Number.POSITIVE_INFINITY, (v, a) => v < a),
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
  const { dx, dy, valid, inner } = d;
  const dyBase = o * inner;
  for (let t = 0, m = start; t < n; t++, m += stride) {
    if (valid[m] === 0) continue;
    const base = m * inner;
    for (let f = 0; f < inner; f++) dx[base + f] = dy[dyBase + f]! / divisor;
  }
}

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
    const { dx, dy, xs, ys, valid, inner } = d;
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
    // Only column 0 is used: every column of a row has the same count.
    gather: (st, d, _o, start, n, stride) => {
      for (let t = 0, m = start; t < n; t++, m += stride) if (d.valid[m] !== 0) st[0]!++;
    },
    scatter: (st, d, o, start, n, stride) => broadcast(d, o, start, n, stride, st[0]!),
  },
  max: tiedGradient,
  min: tiedGradient,
};
