// `pnpm --filter @masked-ops/backend-webgpu bench`: the per-token-loss form, x [4096,4096] with a
// full-shape random 50% mask reduced over every axis (one output: the split reduction of
// programs/split.ts), fused forward vs the one-stage program alone (what ran before the split:
// one workgroup) and tfjs's unmasked op, and the fused backward; and the sum/mean of
// x [256,200,64] mask [256,200] axis 1 (thousands of outputs: the one-stage program), which the
// split must leave alone. Medians in ms; asserts nothing about speed (SwiftShader timings are
// only comparable as ratios, within one run).
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import { MASKED_REDUCTIONS, maskedGeometry } from '@masked-ops/core';
import { randomFloats, randomMask, runOp, seededRandom } from '@masked-ops/core/testing';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MaskedSliceProgram } from '../src/programs/slice.js';
import { run } from '../src/run.js';
import { median, ms, ROUNDS, ratio, unmasked } from './timing.js';

const N = 4096;
const [B, T, F] = [256, 200, 64];

let x: tf.Tensor;
let mask: tf.Tensor;
let dy: tf.Tensor;
let x3: tf.Tensor;
let mask2: tf.Tensor;
const rows: string[] = [];

beforeAll(async () => {
  expect(await tf.setBackend('webgpu')).toBe(true);
  const rand = seededRandom(2);
  x = tf.tensor(randomFloats(rand, N * N), [N, N]);
  mask = tf.tensor(randomMask(rand, N * N, 0.5), [N, N], 'bool');
  dy = tf.scalar(1);
  x3 = tf.tensor(randomFloats(rand, B * T * F), [B, T, F]);
  mask2 = tf.tensor(randomMask(rand, B * T, 0.7), [B, T], 'bool');
});

afterAll(() => {
  tf.dispose([x, mask, dy, x3, mask2]);
  console.log(`webgpu, median of ${ROUNDS} (ms):\n${rows.join('\n')}`);
});

for (const spec of MASKED_REDUCTIONS) {
  it(`${spec.op} [${N},${N}] all axes`, async () => {
    const fused = await median(() => runOp(spec, x, mask));
    const g = maskedGeometry(x.shape, mask.shape, [0, 1], false);
    const webgpu = tf.backend() as WebGPUBackend;
    const oneStage = await median(() => {
      const program = new MaskedSliceProgram({ kind: 'forward', reducer: spec.reducer }, g);
      const out = run(webgpu, program, [x, mask]);
      return [tf.engine().makeTensorFromTensorInfo(out)];
    });
    const plain = await median(() => unmasked(spec, x));
    const backward = await median(() => [
      tf.grad((v: tf.Tensor) => runOp(spec, v, mask)[0]!)(x, dy),
    ]);
    const row = `${spec.op.padEnd(16)} [${N},${N}] all: fused ${ms(fused)}, one-stage ${ms(oneStage)} (${ratio(oneStage, fused)}), tf.${spec.unmasked.padEnd(9)} ${ms(plain)} (${ratio(plain, fused)}) | backward fused ${ms(backward)}`;
    rows.push(row);
    console.log(row);
  });
}

for (const spec of MASKED_REDUCTIONS.filter((s) => ['sum', 'mean'].includes(s.reducer))) {
  it(`${spec.op} [${B},${T},${F}] axis 1`, async () => {
    const fused = await median(() => runOp(spec, x3, mask2, 1));
    const plain = await median(() => unmasked(spec, x3, 1));
    const row = `${spec.op.padEnd(16)} [${B},${T},${F}] axis 1: fused ${ms(fused)}, tf.${spec.unmasked.padEnd(9)} ${ms(plain)} (${ratio(plain, fused)})`;
    rows.push(row);
    console.log(row);
  });
}
