// What the package's bench files share: tfjs's unmasked op of a table row, and the median of a
// few timed calls. Timings on SwiftShader are only comparable as ratios, within one run.
import type { MaskedReduction } from '@masked-ops/core';
import * as tf from '@tensorflow/tfjs-core';

/** Timed calls per measurement, after one warm-up call (shader compilation, uploads). */
export const ROUNDS = 3;

/** tfjs's unmasked op of a row (every output), over `axis` (every axis when not given). */
export function unmasked(spec: MaskedReduction, v: tf.Tensor, axis?: number): tf.Tensor[] {
  switch (spec.unmasked) {
    case 'sum':
      return [tf.sum(v, axis)];
    case 'mean':
      return [tf.mean(v, axis)];
    case 'max':
      return [tf.max(v, axis)];
    case 'min':
      return [tf.min(v, axis)];
    case 'logSumExp':
      return [tf.logSumExp(v, axis)];
    case 'moments': {
      const { mean, variance } = tf.moments(v, axis);
      return [mean, variance];
    }
  }
}

/** Median wall time of `f`, its results read back, after one warm-up call. */
export async function median(f: () => tf.Tensor[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const t0 = performance.now();
    const outs = f();
    await Promise.all(outs.map((t) => t.data()));
    const t = performance.now() - t0;
    tf.dispose(outs);
    if (i > 0) times.push(t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export const ms = (v: number) => v.toFixed(0).padStart(6);
export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(7);
