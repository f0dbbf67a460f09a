// The embedding bag on tfjs's webgpu backend: core's conformance kit on the fused path (every
// mode, both input forms, padding, per-sample weights, empty bags, NaN/Inf, out-of-range ids
// skipped like padding since the GPU backends never read ids back), forward and every gradient
// against the float64 reference; and no tensor, data id or GPU buffer left behind.
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import { type EmbeddingBagMode, embeddingBag } from '@masked-ops/core';
import { defineEmbeddingBagSuite } from '@masked-ops/core/testing';
import { dispose, grads, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { expectNoResourceGrowth, useWebGPU } from './helpers.js';

useWebGPU();

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: false, timeout: 120_000 });

describe('embedding bag resources', () => {
  it('leaves no tensor, data id or GPU buffer behind, forward and backward', async () => {
    const weight = tensor(
      Float32Array.from({ length: 6 * 4 }, (_, i) => (i % 7) - 3),
      [6, 4],
    );
    const ids = tensor([1, 2, 0, 5, 5, 3], [3, 2], 'int32');
    const psw = tensor([0.5, 2, 1, -1, 3, 1], [3, 2]);
    const dy = tensor(
      Float32Array.from({ length: 3 * 4 }, (_, i) => i - 5),
      [3, 4],
    );
    await expectNoResourceGrowth(async () => {
      for (const mode of ['sum', 'mean', 'max'] as EmbeddingBagMode[]) {
        const weighted = mode === 'sum';
        const f = (w: Tensor, p?: Tensor) =>
          embeddingBag(w, ids, { mode, paddingId: 0, ...(p ? { perSampleWeights: p } : {}) });
        const y = f(weight, weighted ? psw : undefined);
        const gs = weighted
          ? grads((w: Tensor, p: Tensor) => f(w, p))([weight, psw], dy)
          : grads((w: Tensor) => f(w))([weight], dy);
        await Promise.all([y, ...gs].map((t) => t.data()));
        dispose([y, ...gs]);
      }
    });
    dispose([weight, ids, psw, dy]);
  });
});
