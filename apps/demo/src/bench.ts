import {
  EMBEDDING_BAG,
  embeddingBag,
  type MaskedReduction,
  maskedLogSoftmax,
  maskedMean,
  maskedSoftmax,
  type ReducerName,
} from '@masked-ops/core';
import { runOp } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { type KernelPath, kernelPath, kernelPaths } from './matrix.js';
import {
  BAG,
  type BenchOp,
  reducersOf,
  rowOf,
  type SoftmaxName,
  softmaxesOf,
  specOf,
} from './ops.js';
import {
  axisOf,
  type BagShape,
  bagLabel,
  maskShapeOf,
  outShapeOf,
  parseBagShapes,
  parseSoftmaxShapes,
  type ShapeSpec,
  type SoftmaxShape,
  shapeLabel,
  softmaxLabel,
} from './shapes.js';

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
  /** The op's name (maskedSum, ..., maskedSoftmax, maskedLogSoftmax, embeddingBag). */
  op: string;
  /**
   * The table row's reducer; for the softmaxes their `--ops` name (softmax, logsoftmax); for
   * embeddingBag its mode (mean).
   */
  reducer: ReducerName | SoftmaxName;
  backend: string;
  /**
   * shapes.ts's label: "[256,200,64]" (pool over time), "[4096,4096]:all" (scalar); for the
   * softmaxes "logits [8,12,128,128], mask [8,1,1,128]"; for the bag "ids [1024,50], table
   * [100000,16]".
   */
  shape: string;
  pass: 'forward' | 'backward';
  /** What `fused` ran: without the plugin's kernels it is core's composite fallback. */
  kernel: KernelPath;
  fusedMs: number;
  compositeMs: number;
  unmaskedMs: number;
  /**
   * tfjs's unmasked op timed as `unmaskedMs`: tf.sum, tf.mean, tf.max, tf.min, tf.logSumExp,
   * tf.moments, tf.softmax, tf.logSoftmax; for the bag `tf.gather + tf.mean` (the padding
   * averaged in).
   */
  unmasked: string;
  /** What `compositeMs` timed, where it is not the README's composite: the bag's two steps. */
  composite?: string;
  /**
   * Variants that were not timed (their ms, ratios and reps are NaN / 0), and why: a call
   * estimated far over the budget (tfjs-backend-cpu's UnsortedSegmentSum: hours), or an error
   * (a kernel the backend lacks).
   */
  skipped?: Partial<Record<'fused' | 'composite' | 'unmasked', string>>;
  /** composite / fused: how many times faster the fused op is than the workaround. */
  vsComposite: number;
  /** unmasked / fused: above 1 means faster than tfjs's unmasked reduction. */
  vsUnmasked: number;
  /**
   * Bytes of x (the logits) read per second by the fused op (one pass over x; the bag: its ids'
   * rows), GB/s.
   */
  fusedGBps: number;
  /** Timed runs behind each median (slow variants get fewer; see BenchOptions.budgetMs). */
  reps: { fused: number; composite: number; unmasked: number };
}

export interface BenchOptions {
  shapes: ShapeSpec[];
  /**
   * The masked reductions to time on `shapes`, the softmaxes on `softmaxShapes` and the bag
   * (`BAG`) on `bagShapes`.
   */
  ops: BenchOp[];
  /** The softmaxes' shapes (DEFAULT_SOFTMAX_SHAPES when not given). */
  softmaxShapes?: SoftmaxShape[];
  /** The bag's shapes (DEFAULT_BAG_SHAPES when not given). */
  bagShapes?: BagShape[];
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
  /**
   * A call estimated to take longer (segmentSumEstimateMs) is not made: SLOW_CALL_MS when not
   * given.
   */
  slowCallMs?: number;
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

/** The GPU backends: a call there is queued (fence waits for it) and cannot be cut short. */
const GPU_BACKENDS = ['webgl', 'webgpu'];

/**
 * Waits for the device. cpu and wasm run every kernel synchronously inside the call, so there is
 * nothing to wait for (and tfjs-wasm's Slice of a large tensor costs up to ~70 ms on its own). On
 * webgl and webgpu, reading one element forces every queued program to finish.
 */
async function fence(outs: tf.Tensor[]): Promise<void> {
  for (const t of outs) await fenceOne(t);
}

async function fenceOne(t: tf.Tensor): Promise<void> {
  const backend = tf.getBackend();
  if (!GPU_BACKENDS.includes(backend) || t.size === 0) return;
  // Slice the first element in place: a reshape of a packed result is not free on webgl (it
  // copies the whole tensor), which would bill an x-sized pass to every backward variant.
  const first =
    t.rank === 0
      ? t
      : tf.slice(t, new Array<number>(t.rank).fill(0), new Array<number>(t.rank).fill(1));
  // webgl reads synchronously (readPixels waits for the queue). webgpu reads asynchronously: its
  // dataSync can return zeros and lose the device on SwiftShader (see CHROMIUM_WEBGPU_ARGS in
  // tooling/chromium.mjs); the mapAsync round trip it adds is the same for every variant.
  if (backend === 'webgpu') await first.data();
  else first.dataSync();
  if (first !== t) first.dispose();
}

/** A timed call: returns every output of the op (or the one dx of a backward pass). */
export type Variant = () => tf.Tensor | tf.Tensor[];

async function runOnce(f: Variant): Promise<number> {
  const start = performance.now();
  const result = f();
  const outs = Array.isArray(result) ? result : [result];
  // Every output: on a GPU backend each may come from programs of its own.
  await fence(outs);
  const elapsed = performance.now() - start;
  tf.dispose(outs);
  // Let the browser breathe between runs (and keep the page responsive).
  await new Promise((resolve) => setTimeout(resolve, 0));
  return elapsed;
}

/**
 * On webgl and webgpu, a first call over this many budgets is mostly the op itself, not shader
 * compiles.
 */
export const COLD_START_FACTOR = 10;

/** A variant's median time and how many timed runs it had. */
export interface Timing {
  ms: number;
  reps: number;
}

/**
 * The median of up to `reps` timed runs of each variant after up to `warmup` warm-ups, within the
 * budget, the variants' timed runs interleaved (round r runs each variant still timing once), so
 * that a slow stretch of a shared machine (another process, a GC, frequency scaling) falls on all
 * of them instead of on the one that happened to be timing: the ratios are what a row is read
 * for. The first call of a variant pays for shader compiles, JIT and heap growth, so at least one
 * warm-up runs; more only while they stay under a quarter of the budget (a second warm-up matters
 * for a fast variant, not for one that takes a second per call). A variant whose first run alone
 * takes the whole budget (a cpu composite backward takes seconds) is timed by that run: at that
 * length a cold start (shader compiles, first-touch page faults of tens of ms) is a few percent,
 * and the ratios it enters are tens to hundreds. Never extrapolated: `reps` says how many runs
 * there were. On webgl and webgpu the first call also compiles the variant's shaders (hundreds of
 * ms on SwiftShader, more than a small op's whole run), so there a first call is the measurement
 * only when it took over COLD_START_FACTOR budgets; otherwise one more run is timed.
 */
export async function timeInterleaved(
  variants: Variant[],
  o: Pick<BenchOptions, 'reps' | 'warmup' | 'budgetMs'>,
): Promise<Timing[]> {
  const compiles = GPU_BACKENDS.includes(tf.getBackend());
  // Per variant: its timed runs, and whether it still takes part in the rounds.
  const timed = variants.map(() => ({ times: [] as number[], spent: 0, done: false }));
  for (const [v, f] of variants.entries()) {
    let spent = 0;
    for (let i = 0; i < Math.max(1, o.warmup) && (i === 0 || spent < o.budgetMs / 4); i++) {
      const t = await runOnce(f);
      spent += t;
      if (i === 0 && o.budgetMs > 0 && t >= o.budgetMs) {
        timed[v]!.times.push(
          !compiles || t >= COLD_START_FACTOR * o.budgetMs ? t : await runOnce(f),
        );
        timed[v]!.done = true;
        break;
      }
    }
  }
  const reps = Math.max(1, o.reps);
  for (;;) {
    const active = timed.filter(
      (v) => !v.done && v.times.length < reps && (v.times.length === 0 || v.spent < o.budgetMs),
    );
    if (active.length === 0) break;
    for (const [v, f] of variants.entries()) {
      const state = timed[v]!;
      if (!active.includes(state)) continue;
      const t = await runOnce(f);
      state.times.push(t);
      state.spent += t;
    }
  }
  return timed.map(({ times }) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { ms: sorted[Math.floor(sorted.length / 2)]!, reps: sorted.length };
  });
}

/** One variant timed alone (timeInterleaved's rules). */
export async function timeMs(
  f: Variant,
  o: Pick<BenchOptions, 'reps' | 'warmup' | 'budgetMs'>,
): Promise<Timing> {
  return (await timeInterleaved([f], o))[0]!;
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

/** The three variants of a benchmark: the fused op, the users' composite, tfjs's unmasked op. */
type VariantName = 'fused' | 'composite' | 'unmasked';

/** The timing fields of a row whose three variants all run: medians, ratios and runs. */
async function timeVariants(
  v: Record<VariantName, Variant>,
  options: BenchOptions,
): Promise<
  Pick<BenchRow, 'fusedMs' | 'compositeMs' | 'unmaskedMs' | 'vsComposite' | 'vsUnmasked' | 'reps'>
> {
  const [fused, comp, plain] = (await timeInterleaved(
    [v.fused, v.composite, v.unmasked],
    options,
  )) as [Timing, Timing, Timing];
  return {
    fusedMs: fused.ms,
    compositeMs: comp.ms,
    unmaskedMs: plain.ms,
    vsComposite: comp.ms / fused.ms,
    vsUnmasked: plain.ms / fused.ms,
    reps: { fused: fused.reps, composite: comp.reps, unmasked: plain.reps },
  };
}

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const backend = tf.getBackend();
  const reducers = reducersOf(options.ops);
  const softmaxes = softmaxesOf(options.ops);
  const softmaxShapes = softmaxes.length ? (options.softmaxShapes ?? DEFAULT_SOFTMAX_SHAPES) : [];
  const bagShapes = options.ops.includes(BAG) ? (options.bagShapes ?? DEFAULT_BAG_SHAPES) : [];
  const paths = kernelPaths([...reducers, ...softmaxes]);
  const rows: BenchRow[] = [];
  const rand = seededUniform(options.seed);
  const passes = options.backward ? (['forward', 'backward'] as const) : (['forward'] as const);
  const total =
    (options.shapes.length * reducers.length +
      softmaxShapes.length * softmaxes.length +
      bagShapes.length) *
    passes.length;
  for (const s of reducers.length ? options.shapes : []) {
    const inputs = makeInputs(s, options.density, rand);
    const { x, mask, axis } = inputs;
    const dy = tf.ones(outShapeOf(s));
    for (const reducer of reducers) {
      const spec = specOf(reducer);
      // Each variant as a function of x to its outputs, in the row's order.
      const outputs: Record<VariantName, (v: tf.Tensor) => tf.Tensor[]> = {
        fused: (v) => runOp(spec, v, mask, axis),
        composite: (v) => userComposite(reducer, { ...inputs, x: v }),
        unmasked: (v) => outputsOf(spec, UNMASKED[spec.unmasked](v, axis)),
      };
      for (const pass of passes) {
        options.onProgress?.(rows.length, total, `${spec.op} ${shapeLabel(s)} ${pass}`);
        const timed = await timeVariants(variantsOf(outputs, pass, x, dy), options);
        rows.push({
          op: spec.op,
          reducer,
          backend,
          shape: shapeLabel(s),
          pass,
          kernel: paths[reducer]!,
          ...timed,
          unmasked: `tf.${spec.unmasked}`,
          fusedGBps: (x.size * 4) / (timed.fusedMs / 1000) / 1e9,
        });
      }
    }
    tf.dispose([inputs.x, inputs.mask, inputs.maskF, inputs.maskB, dy]);
  }
  for (const s of softmaxShapes) {
    const { logits, mask, dy } = makeSoftmaxInputs(s, options.density, rand);
    try {
      for (const op of softmaxes) {
        const row = rowOf(op);
        for (const pass of passes) {
          options.onProgress?.(rows.length, total, `${row.op} ${softmaxLabel(s)} ${pass}`);
          const timed = await timeVariants(
            variantsOf(softmaxVariants(op, mask), pass, logits, dy),
            options,
          );
          rows.push({
            op: row.op,
            reducer: op,
            backend,
            shape: softmaxLabel(s),
            pass,
            kernel: paths[op]!,
            ...timed,
            unmasked: `tf.${row.unmasked}`,
            fusedGBps: (logits.size * 4) / (timed.fusedMs / 1000) / 1e9,
          });
        }
      }
    } finally {
      tf.dispose([logits, mask, dy]);
    }
  }
  for (const s of bagShapes) {
    const done = rows.length;
    rows.push(
      ...(await benchBag(s, options, passes, rand, (i, step) => {
        options.onProgress?.(done + i, total, step);
      })),
    );
  }
  options.onProgress?.(total, total, 'done');
  return rows;
}

/**
 * A pass's three timed calls from each variant as a function of x to its outputs: forward returns
 * every output; backward is one whole `tf.grad` (forward + backward) of lossOf the outputs with
 * cotangent `dy`.
 */
function variantsOf(
  outputs: Record<VariantName, (v: tf.Tensor) => tf.Tensor | tf.Tensor[]>,
  pass: 'forward' | 'backward',
  x: tf.Tensor,
  dy: tf.Tensor,
): Record<VariantName, Variant> {
  const list = (t: tf.Tensor | tf.Tensor[]) => (Array.isArray(t) ? t : [t]);
  const call =
    (f: (v: tf.Tensor) => tf.Tensor | tf.Tensor[]): Variant =>
    () =>
      pass === 'forward' ? f(x) : tf.grad((v: tf.Tensor) => lossOf(list(f(v))))(x, dy);
  return {
    fused: call(outputs.fused),
    composite: call(outputs.composite),
    unmasked: call(outputs.unmasked),
  };
}

/**
 * The masked softmax users write today with tfjs (as Keras 2 and tfjs models do): the padding
 * pushed to -1e9 (`tf.where` broadcasts the mask), tfjs's softmax (log-softmax), then rows
 * without a valid position zeroed, which would otherwise come out uniform (attending to the
 * padding). On rows with a valid position it gives the fused op's probabilities (exp(-1e9 - max)
 * is 0 in float32); log-softmax gives about -1e9 at masked positions where the op gives
 * -Infinity. It reads masked values (a NaN there leaks), which the op never does.
 */
export function softmaxComposite(op: SoftmaxName, x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const f = op === 'softmax' ? tf.softmax : tf.logSoftmax;
    const y = f(tf.where(mask, x, -1e9));
    return tf.where(tf.any(mask, -1, true), y, 0);
  });
}

/** The softmax benchmark's three variants as functions of the logits (mask bool, broadcast). */
export const softmaxVariants = (
  op: SoftmaxName,
  mask: tf.Tensor,
): Record<VariantName, (x: tf.Tensor) => tf.Tensor> => ({
  fused: (x) => (op === 'softmax' ? maskedSoftmax(x, mask) : maskedLogSoftmax(x, mask)),
  composite: (x) => softmaxComposite(op, x, mask),
  unmasked: (x) => (op === 'softmax' ? tf.softmax(x) : tf.logSoftmax(x)),
});

/** `pnpm bench`'s softmax shapes: attention with key padding, and long rows with a full mask. */
export const DEFAULT_SOFTMAX_SHAPES: readonly SoftmaxShape[] = parseSoftmaxShapes(
  '8x12x128x128:8x1x1x128,64x4096:64x4096',
);

/**
 * Seeded logits in [-4, 4), a cotangent in [-1, 1) and a bool mask of the shape's mask shape in
 * which each row along the last axis is key padding, a valid prefix (real tokens first), of
 * length uniform in [0, min(n, 2 * density * n)] (mean density * n up to density 0.5); a mask
 * that broadcasts along the last axis has whole rows valid with probability `density`.
 */
function makeSoftmaxInputs(
  s: SoftmaxShape,
  density: number,
  rand: () => number,
): { logits: tf.Tensor; mask: tf.Tensor; dy: tf.Tensor } {
  const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
  const xs = new Float32Array(size(s.logits));
  for (let i = 0; i < xs.length; i++) xs[i] = rand() * 8 - 4;
  const dys = new Float32Array(xs.length);
  for (let i = 0; i < dys.length; i++) dys[i] = rand() * 2 - 1;
  const n = s.mask.at(-1) ?? 1;
  const ms = new Uint8Array(size(s.mask));
  for (let r = 0; r < ms.length / n; r++) {
    const len =
      n === 1 ? (rand() < density ? 1 : 0) : Math.round(Math.min(1, 2 * density * rand()) * n);
    ms.fill(1, r * n, r * n + len);
  }
  return {
    logits: tf.tensor(xs, s.logits),
    mask: tf.tensor(ms, s.mask, 'bool'),
    dy: tf.tensor(dys, s.logits),
  };
}

/** `pnpm bench`'s bag shapes: a DeepFM-like field (short bags, a large table) and long bags. */
export const DEFAULT_BAG_SHAPES: readonly BagShape[] = parseBagShapes(
  '1024x50:100000x16,256x200:10000x64',
);

/** Share of the bag benchmark's ids that are padding (id 0), placed at random. */
export const BAG_PADDING = 0.2;

/** A call estimated to take longer than this is not made (segmentSumEstimateMs, probeEstimateMs). */
export const SLOW_CALL_MS = 120_000;

/**
 * What one call of tfjs's gather gradient (`UnsortedSegmentSum` of `[rows, dim]` into `segments`
 * table rows) would cost on 'cpu', where it is known to be far slower than a pass:
 * tfjs-backend-cpu's kernel makes a full pass over the gradient (an equal, a cast, a multiply and a
 * sum of its size) for every segment, about 0.4 s per table row at [51200, 16] on this machine, so
 * 100,000 rows take hours. The estimate is one timed call with one segment, times `segments`.
 * Undefined on other backends (see probeEstimateMs).
 */
export function segmentSumEstimateMs(
  rows: number,
  dim: number,
  segments: number,
): number | undefined {
  if (tf.getBackend() !== 'cpu') return undefined;
  return tf.tidy(() => {
    const x = tf.ones([rows, dim]);
    const ids = tf.zeros([rows], 'int32') as tf.Tensor1D;
    const start = performance.now();
    tf.unsortedSegmentSum(x, ids, 1).dataSync();
    return (performance.now() - start) * segments;
  });
}

/** The first probe table's rows (see probeEstimateMs); each next one has twice as many. */
export const PROBE_ROWS = 16;

/**
 * Two probes differing by this much (ms), and by a quarter of the smaller, measure the rows' cost
 * rather than noise.
 */
const PROBE_SIGNAL_MS = 250;

/**
 * What one backward call of a bag variant would cost on a GPU backend, from the same call on
 * smaller tables (the ids folded into them, padding kept). Every variant's time grows linearly in
 * the table's rows, `t(rows) = a + b * rows` with `a, b >= 0` (a zero-filled gradient at least), and
 * on webgl steeply for tfjs's UnsortedSegmentSum and core's fallback scatter-add (every output
 * element reads every id: 12 s for 1,000 rows and 12,800 ids on SwiftShader, hours for the bench's
 * tables). Probing at 16 rows, then 32, 64, ...: `t(r) * vocab / r` bounds the real call from
 * above, so once that is under `limitMs` the call is made (undefined is returned); once two
 * probes differ by more than noise, the line through them is the estimate; if the probes alone
 * take a quarter of the limit, the bound is returned (`bound: true`: the call is slow, by how much
 * is unknown). Each probe call runs twice (the first compiles its shaders). Undefined on other
 * backends (cpu: segmentSumEstimateMs; wasm's kernels are one pass).
 */
export async function probeEstimateMs(
  f: (ids: tf.Tensor) => (table: tf.Tensor) => tf.Tensor,
  s: BagShape,
  idsData: Int32Array,
  limitMs: number,
): Promise<{ ms: number; bound: boolean; probeMs: number; probeRows: number } | undefined> {
  if (!GPU_BACKENDS.includes(tf.getBackend())) return undefined;
  const probe = async (rows: number): Promise<number> => {
    const folded = idsData.map((id) => (id === 0 ? 0 : 1 + ((id - 1) % (rows - 1))));
    const ids = tf.tensor2d(folded, [s.batch, s.bagLen], 'int32');
    const table = tf.ones([rows, s.dim]);
    const dy = tf.ones([s.batch, s.dim]);
    const call: Variant = () => tf.tidy(() => tf.grad(f(ids))(table, dy));
    try {
      await runOnce(call);
      return await runOnce(call);
    } finally {
      tf.dispose([ids, table, dy]);
    }
  };
  let rows = PROBE_ROWS;
  let t = await probe(rows);
  let spent = 2 * t;
  for (;;) {
    const upperBound = (t * s.vocab) / rows;
    if (upperBound <= limitMs) return undefined;
    if (2 * rows >= s.vocab || spent > limitMs / 4) {
      return { ms: upperBound, bound: true, probeMs: t, probeRows: rows };
    }
    const t2 = await probe(2 * rows);
    spent += 2 * t2;
    if (t2 - t > Math.max(PROBE_SIGNAL_MS, t / 4)) {
      const ms = t + ((t2 - t) / rows) * (s.vocab - rows);
      return { ms, bound: false, probeMs: t2, probeRows: 2 * rows };
    }
    [rows, t] = [2 * rows, t2];
  }
}

/** Padded ids `[batch, bagLen]` (BAG_PADDING of them 0, the rest uniform in [1, vocab)) and a table. */
function makeBagInputs(
  s: BagShape,
  rand: () => number,
): { table: tf.Tensor2D; ids: tf.Tensor2D; idsData: Int32Array } {
  const ids = new Int32Array(s.batch * s.bagLen);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = rand() < BAG_PADDING ? 0 : 1 + Math.floor(rand() * (s.vocab - 1));
  }
  const table = new Float32Array(s.vocab * s.dim);
  for (let i = 0; i < table.length; i++) table[i] = rand() * 2 - 1;
  return {
    table: tf.tensor2d(table, [s.vocab, s.dim]),
    ids: tf.tensor2d(ids, [s.batch, s.bagLen], 'int32'),
    idsData: ids,
  };
}

const formatMs = (ms: number): string =>
  ms >= 3_600_000
    ? `${(ms / 3_600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${(ms / 60_000).toFixed(0)} min`
      : ms >= 10_000
        ? `${(ms / 1000).toFixed(0)} s`
        : `${(ms / 1000).toFixed(1)} s`;

/** The bag benchmark's three variants as functions of the table (see benchBag). */
export const bagVariants = (ids: tf.Tensor) => ({
  fused: (t: tf.Tensor) => embeddingBag(t, ids, { mode: 'mean', paddingId: 0 }),
  composite: (t: tf.Tensor) => tf.tidy(() => maskedMean(tf.gather(t, ids), tf.notEqual(ids, 0), 1)),
  unmasked: (t: tf.Tensor) => tf.tidy(() => tf.mean(tf.gather(t, ids), 1)),
});

/**
 * The bag at one shape, mode mean, padding id 0, on the active backend; three variants:
 * - fused: `embeddingBag(table, ids, {mode: 'mean', paddingId: 0})`;
 * - composite, the two steps users write with our ops: `maskedMean(tf.gather(table, ids),
 *   tf.notEqual(ids, 0), 1)` (the mask made in the call, as users do; it is [B, L], small);
 * - unmasked: stock tfjs, `tf.mean(tf.gather(table, ids), 1)` (the padding row averaged in).
 * Backward is a `tf.grad` with respect to the table (cotangent ones): the fused op's own gradient
 * kernel against tfjs's gather gradient, `UnsortedSegmentSum`, for both others. A backward call
 * estimated over `slowCallMs` is not made, and the row says why (`skipped`): tfjs-backend-cpu's
 * UnsortedSegmentSum (segmentSumEstimateMs: hours for these tables), and on webgl tfjs's
 * UnsortedSegmentSum and core's fallback scatter-add without the plugin's kernels
 * (probeEstimateMs). A variant that throws (a backend without UnsortedSegmentSum) is skipped with
 * the error.
 */
async function benchBag(
  s: BagShape,
  options: BenchOptions,
  passes: readonly ('forward' | 'backward')[],
  rand: () => number,
  /** Called before each pass (its index in `passes`). */
  onStep: (i: number, step: string) => void,
): Promise<BenchRow[]> {
  const { table, ids, idsData } = makeBagInputs(s, rand);
  const dy = tf.ones([s.batch, s.dim]);
  const label = bagLabel(s);
  const slowCallMs = options.slowCallMs ?? SLOW_CALL_MS;
  const outputs = bagVariants(ids);
  /** Why a backward variant is not run (a call estimated over slowCallMs), or undefined. */
  let cpuEstimate: number | undefined | null = null;
  const tooSlow = async (name: 'fused' | 'composite' | 'unmasked') => {
    // Both gather variants share one UnsortedSegmentSum estimate.
    if (name !== 'fused' && cpuEstimate === null) {
      cpuEstimate = segmentSumEstimateMs(ids.size, s.dim, s.vocab);
    }
    const cpu = name === 'fused' ? undefined : cpuEstimate;
    if (cpu != null && cpu > slowCallMs) {
      return `not run: tfjs-backend-cpu's UnsortedSegmentSum (tf.gather's gradient) makes a pass per table row, ~${formatMs(cpu)} per call (one row's pass timed, times ${s.vocab})`;
    }
    const gpu = await probeEstimateMs(
      (probeIds) => bagVariants(probeIds)[name],
      s,
      idsData,
      slowCallMs,
    );
    if (gpu !== undefined && gpu.ms > slowCallMs) {
      const what =
        name !== 'fused'
          ? "tfjs's UnsortedSegmentSum"
          : kernelPath(EMBEDDING_BAG.kernelName, EMBEDDING_BAG.gradKernelName) === 'fused'
            ? 'the gradient kernel'
            : "core's fallback scatter-add";
      const probed = `${formatMs(gpu.probeMs)} per call at ${gpu.probeRows} rows`;
      return `not run on ${tf.getBackend()}: ${what} takes ${probed}, ${gpu.bound ? 'up to' : 'so'} ~${formatMs(gpu.ms)} at ${s.vocab} (timed on tables of ${PROBE_ROWS}, ${2 * PROBE_ROWS}, ... rows)`;
    }
    return undefined;
  };
  const rows: BenchRow[] = [];
  try {
    for (const [i, pass] of passes.entries()) {
      onStep(i, `${BAG} ${label} ${pass}`);
      // In a tidy: a variant that throws half-way (a missing kernel) leaves no tensor behind.
      const variant =
        (f: (t: tf.Tensor) => tf.Tensor): Variant =>
        () =>
          tf.tidy(() =>
            pass === 'forward' ? f(table) : tf.grad((t: tf.Tensor) => f(t))(table, dy),
          );
      const skipped: NonNullable<BenchRow['skipped']> = {};
      const time = async (name: 'fused' | 'composite' | 'unmasked') => {
        let why: string | undefined;
        try {
          why = pass === 'backward' ? await tooSlow(name) : undefined;
        } catch {
          // The probe threw (no UnsortedSegmentSum at all): the variant fails below, and says so.
        }
        if (why) {
          skipped[name] = why;
          return { ms: Number.NaN, reps: 0 };
        }
        try {
          return await timeMs(variant(outputs[name]), options);
        } catch (err) {
          skipped[name] = `failed: ${(err as Error).message.split('\n')[0]}`;
          return { ms: Number.NaN, reps: 0 };
        }
      };
      const fused = await time('fused');
      const comp = await time('composite');
      const plain = await time('unmasked');
      rows.push({
        op: BAG,
        reducer: 'mean',
        backend: tf.getBackend(),
        shape: label,
        pass,
        kernel: kernelPath(EMBEDDING_BAG.kernelName, EMBEDDING_BAG.gradKernelName),
        fusedMs: fused.ms,
        compositeMs: comp.ms,
        unmaskedMs: plain.ms,
        unmasked: 'tf.gather + tf.mean',
        composite: 'tf.gather + maskedMean',
        ...(Object.keys(skipped).length ? { skipped } : {}),
        vsComposite: comp.ms / fused.ms,
        vsUnmasked: plain.ms / fused.ms,
        fusedGBps: (ids.size * s.dim * 4) / (fused.ms / 1000) / 1e9,
        reps: { fused: fused.reps, composite: comp.reps, unmasked: plain.reps },
      });
    }
  } finally {
    tf.dispose([table, ids, dy]);
  }
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
