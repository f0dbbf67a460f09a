// `pnpm --filter @masked-ops/backend-webgpu bench`: every op of core's table at x [256,200,64],
// mask [256,200], axis 1 on tfjs's webgpu backend: the fused kernels, core's composite fallback
// (the same op with this package's kernels unregistered) and tfjs's unmasked op, forward, and
// fused vs composite backward. Prints medians and ratios; asserts nothing about speed
// (SwiftShader timings are only comparable as ratios, within one run).
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import { MASKED_REDUCTIONS, type MaskedReduction } from '@masked-ops/core';
import { randomFloats, randomMask, runOp, seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { webgpuKernelConfigs } from '../src/index.js';

const [B, T, F] = [256, 200, 64];
/** Timed calls per measurement, after one warm-up call (shader compilation, uploads). */
const ROUNDS = 3;

let x: tf.Tensor;
let mask: tf.Tensor;
let dy: tf.Tensor;
const rows: string[] = [];

beforeAll(async () => {
  expect(await tf.setBackend('webgpu')).toBe(true);
  const rand = seededRandom(1);
  x = tf.tensor(randomFloats(rand, B * T * F), [B, T, F]);
  mask = tf.tensor(randomMask(rand, B * T, 0.7), [B, T], 'bool');
  dy = tf.ones([B, F]);
});

afterAll(() => {
  tf.dispose([x, mask, dy]);
  console.log(
    `webgpu (${navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'browser'}), x [${B},${T},${F}] mask [${B},${T}] axis 1, median of ${ROUNDS} (ms):\n${rows.join('\n')}`,
  );
});

const unmasked = (spec: MaskedReduction, v: tf.Tensor): tf.Tensor[] => {
  switch (spec.unmasked) {
    case 'sum':
      return [tf.sum(v, 1)];
    case 'mean':
      return [tf.mean(v, 1)];
    case 'max':
      return [tf.max(v, 1)];
    case 'min':
      return [tf.min(v, 1)];
    case 'logSumExp':
      return [tf.logSumExp(v, 1)];
    case 'moments': {
      const { mean, variance } = tf.moments(v, 1);
      return [mean, variance];
    }
  }
};

/** Median wall time of `f`, its results read back, after one warm-up call. */
async function median(f: () => tf.Tensor[]): Promise<number> {
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

const ms = (v: number) => v.toFixed(0).padStart(6);
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`.padStart(6);

for (const spec of MASKED_REDUCTIONS) {
  it(spec.op, async () => {
    const forward = () => runOp(spec, x, mask, 1);
    const backward = () => [tf.grad((v: tf.Tensor) => runOp(spec, v, mask, 1)[0]!)(x, dy)];
    const fused = await median(forward);
    const fusedGrad = await median(backward);
    const configs = webgpuKernelConfigs.filter((c) =>
      [spec.kernelName, spec.gradKernelName].includes(c.kernelName),
    );
    for (const c of configs) tf.unregisterKernel(c.kernelName, 'webgpu');
    let composite: number;
    let compositeGrad: number;
    try {
      composite = await median(forward);
      compositeGrad = await median(backward);
    } finally {
      for (const c of configs) tf.registerKernel(c);
    }
    const plain = await median(() => unmasked(spec, x));
    const row = `${spec.op.padEnd(16)} forward: fused ${ms(fused)}, composite ${ms(composite)} (${ratio(composite, fused)}), tf.${spec.unmasked.padEnd(9)} ${ms(plain)} (${ratio(plain, fused)}) | backward: fused ${ms(fusedGrad)}, composite ${ms(compositeGrad)} (${ratio(compositeGrad, fusedGrad)})`;
    rows.push(row);
    console.log(row);
  });
}
