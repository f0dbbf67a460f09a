import type { MaskedReduction, ReducerName } from '@masked-ops/core';
import { runOp } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { type KernelPath, kernelPaths } from './matrix.js';
import { specOf } from './ops.js';
import { axisOf, maskShapeOf, outShapeOf, type ShapeSpec, shapeLabel } from './shapes.js';

/**
 * Side-by-side timings on the active backend, in one process, for every op of the table: the
 * fused op (the plugin's kernel), the composite users write today from tfjs ops, and tfjs's own
 * unmasked reduction on the same input (the floor a masked one would like to reach). Each variant
 * returns every output of the op (moments: mean and variance; a call is timed until all of them
 * are computed). Backward times a whole `tf.grad` call (forward + backward), as a training step
 * pays it, of the sum of the outputs: for one output that is the output itself, for moments
 * `mean + variance`, so both cotangents are ones and the whole gradient runs (see lossOf).
 */
export interface BenchRow {
  /** The op's name (maskedSum, ...). */
  op: string;
  reducer: ReducerName;
  backend: string;
  /** shapes.ts's label: "[256,200,64]" (pool over time) or "[4096,4096]:all" (scalar). */
  shape: string;
  pass: 'forward' | 'backward';
  /** What `fused` ran: without the plugin's kernels it is core's composite fallback. */
  kernel: KernelPath;
  fusedMs: number;
  compositeMs: number;
  unmaskedMs: number;
  /** tfjs's unmasked op timed as `unmaskedMs`: tf.sum, tf.mean, tf.max, tf.min, tf.logSumExp, tf.moments. */
  unmasked: string;
  /** composite / fused: how many times faster the fused op is than the workaround. */
  vsComposite: number;
  /** unmasked / fused: above 1 means faster than tfjs's unmasked reduction. */
  vsUnmasked: number;
  /** Bytes of x read per second by the fused op (one pass over x), GB/s. */
  fusedGBps: number;
  /** Timed runs behind each median (slow variants get fewer; see BenchOptions.budgetMs). */
  reps: { fused: number; composite: number; unmasked: number };
}

export interface BenchOptions {
  shapes: ShapeSpec[];
  ops: ReducerName[];
  density: number;
  seed: number;
  /** Timed repetitions per variant at most (the median is reported). */
  reps: number;
  /** Warm-up runs per variant at most (the first calls compile shaders and grow heaps). */
  warmup: number;
  /**
   * Milliseconds a variant may spend on timed runs (and a quarter of that on warm-ups) before it stops
   * short of `reps` (at least one run); a first run longer than this is the only one (see timeMs):
   * a cpu composite backward takes seconds per call. 0: one warm-up and one timed run.
   */
  budgetMs: number;
  backward: boolean;
  /** Called before each (shape, op, pass) step and once at the end (done === total). */
  onProgress?: (done: number, total: number, step: string) => void;
}

/** The inputs of one shape, in the forms each variant takes. */
export interface BenchInputs {
  x: tf.Tensor;
  /** The op's mask: [B,T] or x's shape, bool. */
  mask: tf.Tensor;
  /** The mask at x's rank (trailing 1s), float32 and bool: what a composite broadcasts. */
  maskF: tf.Tensor;
  maskB: tf.Tensor;
  axis: number | undefined;
}

/**
 * The composites tfjs users write by hand today (as the README shows them), not core's fallback,
 * each returning the op's outputs in the table row's order:
 * - sum and mean multiply by the float mask (so mean gives NaN on an empty row, as the README
 *   says);
 * - max and min select the padding away with ∓Infinity, then give an empty row 0, from a count
 *   of the float mask;
 * - logsumexp: the stable form, shifted by the masked max `m`, the empty rows made -Infinity
 *   with the count;
 * - moments: the masked mean, then the masked squared deviations from it over the count (two
 *   passes, the stable textbook form; `E[x²] - E[x]²` would lose 1e4 + noise), dividing by the
 *   count clamped to 1, so an empty row gives 0 and 0.
 * They are correct forward and backward, empty rows included (test/bench.test.ts checks both):
 * tfjs's `where` gradient multiplies by the condition, and 0 * NaN is NaN, so an empty row must
 * compute no log(0), 0/0 or `x - (-Infinity)` even where `where` then replaces the result.
 */
export function userComposite(reducer: ReducerName, i: BenchInputs): tf.Tensor[] {
  const { x, maskF, maskB, axis } = i;
  // The reduced axis dropped from a keepDims result (every axis for `:all`, a scalar).
  const drop = (t: tf.Tensor) => tf.squeeze(t, axis === undefined ? undefined : [axis]);
  return tf.tidy(() => {
    switch (reducer) {
      case 'sum':
        return [tf.sum(tf.mul(x, maskF), axis)];
      case 'mean':
        return [tf.div(tf.sum(tf.mul(x, maskF), axis), tf.sum(maskF, axis))];
      case 'max':
      case 'min': {
        const count = tf.sum(maskF, axis);
        const extreme =
          reducer === 'max'
            ? tf.max(tf.where(maskB, x, Number.NEGATIVE_INFINITY), axis)
            : tf.min(tf.where(maskB, x, Number.POSITIVE_INFINITY), axis);
        return [tf.where(tf.greater(count, 0), extreme, 0)];
      }
      case 'logsumexp': {
        const some = tf.greater(tf.sum(maskF, axis, true), 0);
        // An empty row's max is -Infinity: shift it by 0 instead (x - m would be +Infinity).
        const max = tf.max(tf.where(maskB, x, Number.NEGATIVE_INFINITY), axis, true);
        const m = tf.where(some, max, 0);
        const sum = tf.sum(tf.where(maskB, tf.exp(tf.sub(x, m)), 0), axis, true);
        // log(1) on an empty row, whose result is then -Infinity.
        const lse = tf.add(tf.log(tf.where(some, sum, 1)), m);
        return [drop(tf.where(some, lse, Number.NEGATIVE_INFINITY))];
      }
      case 'moments': {
        const count = tf.maximum(tf.sum(maskF, axis, true), 1);
        const mean = tf.div(tf.sum(tf.where(maskB, x, 0), axis, true), count);
        const deviation = tf.where(maskB, tf.sub(x, mean), 0);
        const variance = tf.div(tf.sum(tf.square(deviation), axis, true), count);
        return [drop(mean), drop(variance)];
      }
    }
  });
}

/** tfjs's unmasked counterpart of each row (`unmasked` in core's table), its outputs in order. */
const UNMASKED: Record<
  MaskedReduction['unmasked'],
  (x: tf.Tensor, axis?: number) => tf.Tensor | { mean: tf.Tensor; variance: tf.Tensor }
> = {
  sum: tf.sum,
  mean: tf.mean,
  max: tf.max,
  min: tf.min,
  logSumExp: tf.logSumExp,
  moments: tf.moments,
};

/** An op's result as its outputs, in the table row's order (a tensor, or an object of them). */
const outputsOf = (spec: MaskedReduction, out: tf.Tensor | Record<string, tf.Tensor>) =>
  out instanceof tf.Tensor ? [out] : spec.outputs.map((name) => out[name]!);

/**
 * What the backward pass differentiates: the sum of the outputs (one output: itself), so that
 * `tf.grad(...)(x, ones)` pays for every output's gradient, as a loss using all of them does.
 * The fused op, the composite and the unmasked op all go through here, so they stay comparable.
 */
const lossOf = (outs: tf.Tensor[]): tf.Tensor => (outs.length === 1 ? outs[0]! : tf.addN(outs));

/**
 * Waits for the device. cpu and wasm run every kernel synchronously inside the call, so there is
 * nothing to wait for (and tfjs-wasm's Slice of a large tensor costs up to ~70 ms on its own). On
 * webgl, reading one element forces every queued program to finish.
 */
function fence(outs: tf.Tensor[]): void {
  for (const t of outs) fenceOne(t);
}

function fenceOne(t: tf.Tensor): void {
  if (tf.getBackend() !== 'webgl' || t.size === 0) return;
  // Slice the first element in place: a reshape of a packed result is not free on webgl (it
  // copies the whole tensor), which would bill an x-sized pass to every backward variant.
  const first =
    t.rank === 0
      ? t
      : tf.slice(t, new Array<number>(t.rank).fill(0), new Array<number>(t.rank).fill(1));
  first.dataSync();
  if (first !== t) first.dispose();
}

/** A timed call: returns every output of the op (or the one dx of a backward pass). */
export type Variant = () => tf.Tensor | tf.Tensor[];

async function runOnce(f: Variant): Promise<number> {
  const start = performance.now();
  const result = f();
  const outs = Array.isArray(result) ? result : [result];
  // Every output: on webgl each may come from programs of its own.
  fence(outs);
  const elapsed = performance.now() - start;
  tf.dispose(outs);
  // Let the browser breathe between runs (and keep the page responsive).
  await new Promise((resolve) => setTimeout(resolve, 0));
  return elapsed;
}

/** On webgl, a first call over this many budgets is mostly the op itself, not shader compiles. */
export const COLD_START_FACTOR = 10;

/**
 * The median of up to `reps` timed runs after up to `warmup` warm-ups, within the budget. The
 * first call of a variant pays for shader compiles, JIT and heap growth, so at least one warm-up
 * runs; more only while they stay under a quarter of the budget (a second warm-up matters for a
 * fast variant, not for one that takes a second per call). A variant whose first run alone takes
 * the whole budget (a cpu composite backward takes seconds) is timed by that run: at that length
 * a cold start (shader compiles, first-touch page faults of tens of ms) is a few percent, and the
 * ratios it enters are tens to hundreds. Never extrapolated: `reps` says how many runs there were.
 * On webgl the first call also compiles the variant's shaders (hundreds of ms on SwiftShader, more
 * than a small op's whole run), so there a first call is the measurement only when it took over
 * COLD_START_FACTOR budgets; otherwise one more run is timed.
 */
export async function timeMs(
  f: Variant,
  o: Pick<BenchOptions, 'reps' | 'warmup' | 'budgetMs'>,
): Promise<{ ms: number; reps: number }> {
  const times: number[] = [];
  let spent = 0;
  const compiles = tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';
  for (let i = 0; i < Math.max(1, o.warmup) && (i === 0 || spent < o.budgetMs / 4); i++) {
    const t = await runOnce(f);
    spent += t;
    if (i === 0 && o.budgetMs > 0 && t >= o.budgetMs) {
      if (!compiles || t >= COLD_START_FACTOR * o.budgetMs) return { ms: t, reps: 1 };
      return { ms: await runOnce(f), reps: 1 };
    }
  }
  spent = 0;
  while (times.length < Math.max(1, o.reps) && (times.length === 0 || spent < o.budgetMs)) {
    const t = await runOnce(f);
    times.push(t);
    spent += t;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, reps: times.length };
}

function seededUniform(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeInputs(s: ShapeSpec, density: number, rand: () => number): BenchInputs {
  const maskShape = maskShapeOf(s);
  const xs = new Float32Array(s.x.reduce((p, d) => p * d, 1));
  for (let i = 0; i < xs.length; i++) xs[i] = rand() * 2 - 1;
  const ms = new Uint8Array(maskShape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < ms.length; i++) ms[i] = rand() < density ? 1 : 0;
  const broadcast = [...maskShape, ...new Array<number>(s.x.length - maskShape.length).fill(1)];
  return {
    x: tf.tensor(xs, s.x),
    mask: tf.tensor(ms, maskShape, 'bool'),
    maskF: tf.tensor(Float32Array.from(ms), broadcast),
    maskB: tf.tensor(ms, broadcast, 'bool'),
    axis: axisOf(s),
  };
}

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const backend = tf.getBackend();
  const paths = kernelPaths(options.ops);
  const rows: BenchRow[] = [];
  const rand = seededUniform(options.seed);
  const passes = options.backward ? (['forward', 'backward'] as const) : (['forward'] as const);
  const total = options.shapes.length * options.ops.length * passes.length;
  for (const s of options.shapes) {
    const inputs = makeInputs(s, options.density, rand);
    const { x, mask, axis } = inputs;
    const dy = tf.ones(outShapeOf(s));
    for (const reducer of options.ops) {
      const spec = specOf(reducer);
      // Each variant as a function of x to its outputs, in the row's order.
      const outputs: Record<'fused' | 'composite' | 'unmasked', (v: tf.Tensor) => tf.Tensor[]> = {
        fused: (v) => runOp(spec, v, mask, axis),
        composite: (v) => userComposite(reducer, { ...inputs, x: v }),
        unmasked: (v) => outputsOf(spec, UNMASKED[spec.unmasked](v, axis)),
      };
      const forward =
        (f: (v: tf.Tensor) => tf.Tensor[]): Variant =>
        () =>
          f(x);
      const backward =
        (f: (v: tf.Tensor) => tf.Tensor[]): Variant =>
        () =>
          tf.grad((v: tf.Tensor) => lossOf(f(v)))(x, dy);
      const variants = {
        forward: {
          fused: forward(outputs.fused),
          composite: forward(outputs.composite),
          unmasked: forward(outputs.unmasked),
        },
        backward: {
          fused: backward(outputs.fused),
          composite: backward(outputs.composite),
          unmasked: backward(outputs.unmasked),
        },
      };
      for (const pass of passes) {
        options.onProgress?.(rows.length, total, `${spec.op} ${shapeLabel(s)} ${pass}`);
        const v = variants[pass];
        const fused = await timeMs(v.fused, options);
        const comp = await timeMs(v.composite, options);
        const plain = await timeMs(v.unmasked, options);
        rows.push({
          op: spec.op,
          reducer,
          backend,
          shape: shapeLabel(s),
          pass,
          kernel: paths[reducer]!,
          fusedMs: fused.ms,
          compositeMs: comp.ms,
          unmaskedMs: plain.ms,
          unmasked: `tf.${spec.unmasked}`,
          vsComposite: comp.ms / fused.ms,
          vsUnmasked: plain.ms / fused.ms,
          fusedGBps: (x.size * 4) / (fused.ms / 1000) / 1e9,
          reps: { fused: fused.reps, composite: comp.reps, unmasked: plain.reps },
        });
      }
    }
    tf.dispose([inputs.x, inputs.mask, inputs.maskF, inputs.maskB, dy]);
  }
  options.onProgress?.(total, total, 'done');
  return rows;
}

/** Plain memory-copy bandwidth in this runtime (GB/s of bytes read), the ceiling for one pass. */
export function copyBandwidthGBps(bytes = 64 * 1024 * 1024, reps = 5): number {
  const src = new Float32Array(bytes / 4);
  const dst = new Float32Array(bytes / 4);
  for (let i = 0; i < src.length; i += 1024) src[i] = i;
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const start = performance.now();
    dst.set(src);
    times.push(performance.now() - start);
  }
  times.shift();
  times.sort((a, b) => a - b);
  return bytes / (times[Math.floor(times.length / 2)]! / 1000) / 1e9;
}
