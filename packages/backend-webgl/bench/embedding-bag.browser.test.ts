// Timings of the fused embedding bag on webgl (headless Chromium, SwiftShader: a CPU emulation,
// so only ratios within one run mean anything), printed, not asserted. `pnpm bench:bag`.
// Forward: embeddingBag(mode 'mean', paddingId 0) vs tf.gather + maskedMean (the [batch, bagLen,
// dim] rows, then the masked mean over the bag). Weight gradient: the EmbeddingBagGrad kernel
// alone and tf.grad of the fused op (forward + gradient). (tf.grad of gather + maskedMean, tfjs's
// gather gradient, did not finish within 20 minutes here at these shapes: not run.)
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { embeddingBag, maskedMean } from '@masked-ops/core';
import { randomFloats, seededRandom } from '@masked-ops/core/testing';
import {
  dispose,
  engine,
  gather,
  grad,
  notEqual,
  range,
  reshape,
  scalar,
  setBackend,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { median } from './timing.js';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

const SHAPES: [number, number, number, number][] = [
  // [bags, ids per bag, dim, vocabulary]
  [1024, 50, 16, 100_000],
  [256, 200, 64, 10_000],
];

for (const [batch, bagLen, dim, vocab] of SHAPES) {
  it(`[${batch} x ${bagLen}, dim ${dim}, vocab ${vocab}]`, async () => {
    const rand = seededRandom(1);
    const weight = tensor(randomFloats(rand, vocab * dim, -1, 1), [vocab, dim]);
    // 20% padding (id 0), the rest uniform over the table.
    const idValues = Int32Array.from({ length: batch * bagLen }, () =>
      rand() < 0.2 ? 0 : 1 + Math.floor(rand() * (vocab - 1)),
    );
    const ids = tensor(idValues, [batch, bagLen], 'int32');
    const mask = notEqual(ids, scalar(0, 'int32'));
    const dy = tensor(randomFloats(rand, batch * dim, -1, 1), [batch, dim]);
    const flatIds = reshape(ids, [batch * bagLen]);
    const offsets = range(0, batch * bagLen + 1, bagLen, 'int32');
    const opts = { mode: 'mean' as const, paddingId: 0 };

    const label = `embeddingBag webgl [${batch} x ${bagLen}, dim ${dim}, vocab ${vocab}]`;
    const report = (what: string, ms: number) =>
      console.log(`${label} ${what}: ${ms.toFixed(1)} ms (median)`);
    const fused = await median(() => embeddingBag(weight, ids, opts));
    report('forward fused', fused);
    const composite = await median(() => maskedMean(gather(weight, ids), mask, 1));
    report('forward gather + maskedMean', composite);
    console.log(`${label} forward speed-up: ${(composite / fused).toFixed(1)}x`);
    const gradKernel = await median(
      () =>
        engine().runKernel(
          'EmbeddingBagGrad',
          { dy, ids: flatIds, offsets },
          { ...opts, numEmbeddings: vocab },
        ) as Tensor,
    );
    report('EmbeddingBagGrad kernel', gradKernel);
    const fusedGrad = await median(
      () => grad((w: Tensor) => embeddingBag(w, ids, opts))(weight, dy),
      3,
    );
    report('tf.grad fused', fusedGrad);
    dispose([weight, ids, mask, dy, flatIds, offsets]);
  });
}
