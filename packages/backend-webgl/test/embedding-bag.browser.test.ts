// The embedding bag's fused kernels on WebGL 2 (tfjs's defaults): core's conformance suite (every
// case forward and both gradients against the float64 reference, the kernel path, out-of-range
// ids skipped like padding since the GPU never reads ids back, every argument error), then no
// leaked tensors or textures over forward and backward calls of every mode.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { embeddingBag, referenceEmbeddingBag, referenceEmbeddingBagGrad } from '@masked-ops/core';
import {
  bagCases,
  bagReferenceInput,
  compareWithReference,
  defineEmbeddingBagSuite,
} from '@masked-ops/core/testing';
import {
  dispose,
  engine,
  env,
  grads,
  memory,
  setBackend,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { webgl } from './helpers.js';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
  expect(env().getNumber('WEBGL_VERSION')).toBe(2);
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: false, timeout: 120_000 });

/** A packed-texture copy of `t` (what tfjs's packed ops, e.g. an optimizer's update, write). */
function packed(t: Tensor): Tensor {
  const info = webgl().packTensor(t);
  expect(webgl().texData.get(info.dataId).isPacked).toBe(true);
  return engine().makeTensorFromTensorInfo(info, webgl());
}

describe('embeddingBag: packed input textures', () => {
  // A case of core's suite (per-sample weights, padding, duplicates) with every input in a packed
  // texture (the kernels unpack them), forward and both gradients against the float64 reference.
  it('weight, ids, offsets, perSampleWeights and dy in packed textures: same results', async () => {
    const c = bagCases().find((k) => k.name.startsWith('sum with perSampleWeights, padding 0'))!;
    const ref = referenceEmbeddingBag(bagReferenceInput(c));
    const refGrad = referenceEmbeddingBagGrad(bagReferenceInput(c), c.dy);
    const before = memory().numTensors;
    const w0 = tensor(c.weight, [c.numEmbeddings, c.dim]);
    const ids0 = tensor(c.ids, c.idsShape, 'int32');
    const p0 = tensor(c.perSampleWeights!, c.idsShape);
    const dy0 = tensor(c.dy, [c.idsShape[0]!, c.dim]);
    const [w, ids, p, dy] = [w0, ids0, p0, dy0].map(packed) as [Tensor, Tensor, Tensor, Tensor];
    const f = (wt: Tensor, pt: Tensor) =>
      embeddingBag(wt, ids, { mode: 'sum', paddingId: c.paddingId!, perSampleWeights: pt });
    const y = f(w, p);
    compareWithReference('packed forward', await y.data(), ref, 'float32');
    const [dw, dp] = grads(f)([w, p], dy) as [Tensor, Tensor];
    compareWithReference(
      'packed d weight',
      await dw.data(),
      { values: refGrad.dWeight, counts: refGrad.dWeightCounts, scales: refGrad.dWeightScales },
      'float32',
    );
    compareWithReference(
      'packed d perSampleWeights',
      await dp.data(),
      { values: refGrad.dPerSampleWeights! },
      'float32',
    );
    dispose([w0, ids0, p0, dy0, w, ids, p, dy, y, dw, dp]);
    expect(memory().numTensors).toBe(before);
  });
});

describe('embeddingBag: webgl resources', () => {
  it('forward and both gradients of every mode leak no tensor, data id or texture', async () => {
    const weight = tensor(
      Float32Array.from({ length: 40 * 3 }, (_, i) => (i % 11) - 5),
      [40, 3],
    );
    const ids = tensor(
      Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 41), // 40 is out of range: skipped
      [300],
      'int32',
    );
    const offsets = tensor([0, 10, 10, 150, 290], [5], 'int32');
    const psw = tensor(Float32Array.from({ length: 300 }, (_, i) => (i % 5) - 2));
    const dy = tensor(
      Float32Array.from({ length: 15 }, (_, i) => i - 7),
      [5, 3],
    );
    const once = async () => {
      for (const mode of ['sum', 'mean', 'max'] as const) {
        const options = { mode, offsets, includeLastOffset: false, paddingId: 3 };
        const y = embeddingBag(weight, ids, options);
        const gs =
          mode === 'sum'
            ? grads((w: Tensor, p: Tensor) =>
                embeddingBag(w, ids, { ...options, perSampleWeights: p }),
              )([weight, psw], dy)
            : grads((w: Tensor) => embeddingBag(w, ids, options))([weight], dy);
        await Promise.all([y, ...gs].map((t) => t.data()));
        dispose([y, ...gs]);
      }
    };
    await once(); // uploads and shader compiles happen here
    const backend = webgl();
    const state = () => ({
      tensors: memory().numTensors,
      dataIds: backend.numDataIds(),
      used: backend.getTextureManager().getNumUsedTextures(),
    });
    const before = state();
    for (let i = 0; i < 3; i++) await once();
    expect(state()).toEqual(before);
    dispose([weight, ids, offsets, psw, dy]);
  });
});
