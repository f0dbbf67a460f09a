// `pnpm --filter @masked-ops/backend-webgpu bench`: every op of core's table at x [256,200,64],
// mask [256,200], axis 1 on tfjs's webgpu backend: the fused kernels, core's composite fallback
// (the same op with this package's kernels unregistered) and tfjs's unmasked op, forward, and
// fused vs composite backward. Prints medians and ratios; asserts nothing about speed
// (SwiftShader timings are only comparable as ratios, within one run).
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import { MASKED_REDUCTIONS } from '@masked-ops/core';
import { randomFloats, randomMask, runOp, seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { webgpuKernelConfigs } from '../src/index.js';
import { median, ms, ROUNDS, ratio, unmasked } from './timing.js';

const [B, T, F] = [256, 200, 64];

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
    const plain = await median(() => unmasked(spec, x, 1));
    const row = `${spec.op.padEnd(16)} forward: fused ${ms(fused)}, composite ${ms(composite)} (${ratio(composite, fused)}), tf.${spec.unmasked.padEnd(9)} ${ms(plain)} (${ratio(plain, fused)}) | backward: fused ${ms(fusedGrad)}, composite ${ms(compositeGrad)} (${ratio(compositeGrad, fusedGrad)})`;
    rows.push(row);
    console.log(row);
  });
}
