// `pnpm --filter @masked-ops/backend-webgpu bench`: the masked softmaxes at issue 14's shapes on
// tfjs's webgpu backend: the fused kernels vs the composite users write today
// (`tf.softmax(tf.where(mask, x, -1e9))`, then zeros across rows with no valid position) vs
// tfjs's unmasked `tf.softmax` / `tf.logSoftmax`, forward and backward. Prints medians and
// ratios; asserts nothing about speed (SwiftShader timings are only comparable as ratios, within
// one run).
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-layers'; // built-in gradients: tf.grad of tf.softmax and the composite
import '../src/index.js';
import { MASKED_SOFTMAXES, maskedLogSoftmax, maskedSoftmax } from '@masked-ops/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** Timed calls per measurement, after one warm-up call (shader compilation, uploads). */
const ROUNDS = 3;
const rows: string[] = [];

beforeAll(async () => {
  expect(await tf.setBackend('webgpu')).toBe(true);
});

afterAll(() => {
  console.log(
    `webgpu (${navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'browser'}), masked softmax, median of ${ROUNDS} (ms):\n${rows.join('\n')}`,
  );
});

/** What users write without the plugin: -1e9 at masked logits, then 0 across empty rows. */
function composite(x: tf.Tensor, mask: tf.Tensor, log: boolean): tf.Tensor {
  return tf.tidy(() => {
    const valid = tf.broadcastTo(mask, x.shape);
    const y = (log ? tf.logSoftmax : tf.softmax)(tf.where(valid, x, tf.scalar(-1e9)));
    return tf.where(tf.any(valid, -1, true), y, tf.scalar(0));
  });
}

/** Median wall time of `f`, its result read back, after one warm-up call. */
async function median(f: () => tf.Tensor): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const t0 = performance.now();
    const out = f();
    await out.data();
    const t = performance.now() - t0;
    out.dispose();
    if (i > 0) times.push(t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const ms = (v: number) => v.toFixed(1).padStart(7);
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`.padStart(6);

const CASES = [
  {
    name: '[8,12,128,128] key padding [8,1,1,128]',
    shape: [8, 12, 128, 128],
    mask: () => {
      // Each batch keeps its first 40..128 keys.
      const lengths = tf.tensor1d([128, 100, 77, 40, 128, 64, 90, 113], 'int32');
      const keys = tf.range(0, 128, 1, 'int32');
      return tf.reshape(tf.less(tf.expandDims(keys, 0), tf.expandDims(lengths, 1)), [8, 1, 1, 128]);
    },
  },
  {
    name: '[64,4096] full mask',
    shape: [64, 4096],
    mask: () => tf.less(tf.randomUniform([64, 4096], 0, 1, 'float32', 2), 0.8),
  },
];

for (const c of CASES) {
  for (const row of MASKED_SOFTMAXES) {
    it(`${row.op} ${c.name}`, async () => {
      const x = tf.randomNormal(c.shape, 0, 3, 'float32', 1);
      const dy = tf.randomNormal(c.shape, 0, 1, 'float32', 3);
      const mask = tf.tidy(c.mask);
      const op = row.log ? maskedLogSoftmax : maskedSoftmax;
      const plain = row.log ? tf.logSoftmax : tf.softmax;
      const fused = await median(() => op(x, mask));
      const comp = await median(() => composite(x, mask, row.log));
      const unmasked = await median(() => plain(x));
      const fusedGrad = await median(() => tf.grad((v: tf.Tensor) => op(v, mask))(x, dy));
      const compGrad = await median(() =>
        tf.grad((v: tf.Tensor) => composite(v, mask, row.log))(x, dy),
      );
      const unmaskedGrad = await median(() => tf.grad((v: tf.Tensor) => plain(v))(x, dy));
      tf.dispose([x, dy, mask]);
      const line = `${row.op.padEnd(16)} ${c.name.padEnd(40)} forward: fused ${ms(fused)}, composite ${ms(comp)} (${ratio(comp, fused)}), tf.${row.unmasked} ${ms(unmasked)} (${ratio(unmasked, fused)}) | backward: fused ${ms(fusedGrad)}, composite ${ms(compGrad)} (${ratio(compGrad, fusedGrad)}), tf.${row.unmasked} ${ms(unmaskedGrad)} (${ratio(unmaskedGrad, fusedGrad)})`;
      rows.push(line);
      console.log(line);
    });
  }
}
