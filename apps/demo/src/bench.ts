import { maskedMean } from '@masked-ops/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Side-by-side timings on the active backend, in one process: the fused `maskedMean` kernel, the
 * composite workaround users write today (`sum(x * mask) / sum(mask)`), and tfjs's own unmasked
 * `tf.mean` (the floor a masked mean would like to reach). Backward times a whole `tf.grad` call
 * (forward + backward), as a training step pays it.
 */
export interface BenchShape {
  batch: number;
  time: number;
  features: number;
}

export interface BenchRow {
  backend: string;
  shape: string;
  pass: 'forward' | 'backward';
  fusedMs: number;
  compositeMs: number;
  meanMs: number;
  /** composite / fused: how many times faster the fused kernel is than the workaround. */
  vsComposite: number;
  /** mean / fused: above 1 means faster than tfjs's unmasked mean. */
  vsMean: number;
  /** Bytes of x read per second by the fused forward kernel, GB/s. */
  fusedGBps: number;
  reps: number;
}

export interface BenchOptions {
  shapes: BenchShape[];
  density: number;
  seed: number;
  /** Timed repetitions per variant (the median is reported). */
  reps: number;
  warmup: number;
  backward: boolean;
  onProgress?: (message: string) => void;
}

export const shapeLabel = (s: BenchShape): string => `[${s.batch},${s.time},${s.features}]`;

/** The composite every tfjs user writes by hand today. */
export function compositeMaskedMean(x: tf.Tensor3D, maskF: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() =>
    tf.div(tf.sum(tf.mul(x, tf.expandDims(maskF, 2)), 1), tf.sum(maskF, 1, true)),
  );
}

/**
 * Waits for the device. cpu and wasm run every kernel synchronously inside the call, so there is
 * nothing to wait for (and tfjs-wasm's Slice of a large tensor costs up to ~70 ms on its own). On
 * webgl, reading one element forces every queued program to finish.
 */
function fence(t: tf.Tensor): void {
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

async function timeMs(f: () => tf.Tensor, reps: number, warmup: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const start = performance.now();
    const out = f();
    fence(out);
    const elapsed = performance.now() - start;
    out.dispose();
    if (i >= warmup) times.push(elapsed);
    // Let the browser breathe between runs (and keep the page responsive).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
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

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const backend = tf.getBackend();
  const rows: BenchRow[] = [];
  const rand = seededUniform(options.seed);
  for (const s of options.shapes) {
    const { batch: b, time: t, features: f } = s;
    const xs = new Float32Array(b * t * f);
    for (let i = 0; i < xs.length; i++) xs[i] = rand() * 2 - 1;
    const ms = new Float32Array(b * t);
    for (let i = 0; i < ms.length; i++) ms[i] = rand() < options.density ? 1 : 0;
    const x = tf.tensor3d(xs, [b, t, f]);
    const maskF = tf.tensor2d(ms, [b, t]);
    const maskB = tf.cast(maskF, 'bool');
    const dy = tf.onesLike(tf.sum(x, 1));

    const variants = {
      forward: {
        fused: () => maskedMean(x, maskB, 1),
        composite: () => compositeMaskedMean(x, maskF),
        mean: () => tf.mean(x, 1),
      },
      backward: {
        fused: () => tf.grad((v: tf.Tensor) => maskedMean(v, maskB, 1))(x, dy),
        composite: () =>
          tf.grad((v: tf.Tensor) => compositeMaskedMean(v as tf.Tensor3D, maskF))(x, dy),
        mean: () => tf.grad((v: tf.Tensor) => tf.mean(v, 1))(x, dy),
      },
    };
    const passes = options.backward ? (['forward', 'backward'] as const) : (['forward'] as const);
    for (const pass of passes) {
      options.onProgress?.(`${backend} ${shapeLabel(s)} ${pass}`);
      const v = variants[pass];
      const fusedMs = await timeMs(v.fused, options.reps, options.warmup);
      const compositeMs = await timeMs(v.composite, options.reps, options.warmup);
      const meanMs = await timeMs(v.mean, options.reps, options.warmup);
      rows.push({
        backend,
        shape: shapeLabel(s),
        pass,
        fusedMs,
        compositeMs,
        meanMs,
        vsComposite: compositeMs / fusedMs,
        vsMean: meanMs / fusedMs,
        fusedGBps: xs.byteLength / (fusedMs / 1000) / 1e9,
        reps: options.reps,
      });
    }
    tf.dispose([x, maskF, maskB, dy]);
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
