// MaskedMeanPooling: configurable axes, against the float64 reference (cpu backend).
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { type ReferenceResult, referenceMaskedReduce } from '@masked-ops/core';
import { compareValues, seededRandom } from '@masked-ops/core/testing';
import { memory, setBackend, type Tensor, tensor, tensor2d, tensor3d } from '@tensorflow/tfjs-core';
import { model as functionalModel, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MaskedMeanPooling, maskedMeanPooling } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/** The first mismatch against the reference, or null. */
function firstMismatch(actual: ArrayLike<number>, ref: ReferenceResult) {
  return compareValues(actual, ref, 'float32')[0] ?? null;
}

// Documents: [batch 3, sentences 2, words 4, features 3]; the word mask [3, 2, 4] by hand.
// Document 1's second sentence is empty; document 2 is entirely empty.
const WORDS = [
  [
    [1, 1, 1, 0],
    [1, 0, 0, 0],
  ],
  [
    [1, 1, 1, 1],
    [0, 0, 0, 0],
  ],
  [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ],
];
const DOC_SHAPE = [3, 2, 4, 3];

/** Word vectors: non-zero features where the word exists, zeros (what Masking masks) elsewhere. */
function documents(): Float32Array {
  const rand = seededRandom(99);
  const values = new Float32Array(3 * 2 * 4 * 3);
  WORDS.flat(2).forEach((valid, w) => {
    for (let f = 0; f < 3; f++) values[w * 3 + f] = valid ? 0.25 + 4 * rand() : 0;
  });
  return values;
}

describe('MaskedMeanPooling', () => {
  it('is registered for serialization by importing the package', async () => {
    const { serialization } = await import('@tensorflow/tfjs-core');
    const entry = serialization.SerializationMap.getMap().classNameMap['MaskedMeanPooling'];
    expect(entry?.[0]).toBe(MaskedMeanPooling);
  });

  it('Masking -> MaskedMeanPooling(axis [1, 2]) pools each document over its real words', async () => {
    const xs = documents();
    const input = layers.input({ shape: DOC_SHAPE.slice(1) });
    const pooled = maskedMeanPooling({ axis: [1, 2] }).apply(
      layers.masking({ maskValue: 0 }).apply(input),
    ) as SymbolicTensor;
    expect(pooled.shape).toEqual([null, 3]);
    const m = functionalModel({ inputs: input, outputs: pooled });
    const x = tensor(xs, DOC_SHAPE);
    const y = m.predict(x) as Tensor;
    const ref = referenceMaskedReduce(
      'mean',
      xs,
      DOC_SHAPE,
      WORDS.flat(2),
      [3, 2, 4],
      [1, 2],
      false,
    );
    expect(firstMismatch(await y.data(), ref)).toBeNull();
    // The empty document gives exactly 0.
    expect(Array.from(await y.data()).slice(6)).toEqual([0, 0, 0]);
    x.dispose();
    y.dispose();
  });

  it('hierarchical: words -> sentences (axis 2, passes an any-mask on) -> document (axis 1)', async () => {
    const xs = documents();
    const input = layers.input({ shape: DOC_SHAPE.slice(1) });
    const masked = layers.masking({ maskValue: 0 }).apply(input);
    const sentences = maskedMeanPooling({ axis: 2 }).apply(masked) as SymbolicTensor;
    const doc = maskedMeanPooling({ axis: -2 }).apply(sentences) as SymbolicTensor;
    expect(sentences.shape).toEqual([null, 2, 3]);
    expect(doc.shape).toEqual([null, 3]);
    const m = functionalModel({ inputs: input, outputs: [sentences, doc] });
    const x = tensor(xs, DOC_SHAPE);
    const [ys, yd] = m.predict(x) as Tensor[];
    const refS = referenceMaskedReduce('mean', xs, DOC_SHAPE, WORDS.flat(2), [3, 2, 4], [2], false);
    expect(firstMismatch(await ys!.data(), refS)).toBeNull();
    // Sentence validity by hand: doc 0 both, doc 1 first only, doc 2 none. The document is the
    // mean of its valid sentence vectors (not of its words): the mask pooled with `any`.
    const sentenceMask = [1, 1, 1, 0, 0, 0];
    const refD = referenceMaskedReduce(
      'mean',
      refS.values,
      [3, 2, 3],
      sentenceMask,
      [3, 2],
      [1],
      false,
    );
    expect(firstMismatch(await yd!.data(), refD)).toBeNull();
    x.dispose();
    ys!.dispose();
    yd!.dispose();
  });

  it('computeMask: null once every mask axis is reduced, else `any` over the reduced ones', async () => {
    const x = tensor(documents(), DOC_SHAPE);
    const mask = tensor(WORDS.flat(2), [3, 2, 4], 'bool');
    expect(maskedMeanPooling({ axis: [1, 2] }).computeMask(x, mask)).toBeNull();
    expect(maskedMeanPooling({ axis: [2, 1], keepDims: true }).computeMask(x, mask)).toBeNull();
    const out = maskedMeanPooling({ axis: 2 }).computeMask(x, mask);
    expect(out.shape).toEqual([3, 2]);
    expect(out.dtype).toBe('bool');
    expect(await out.array()).toEqual([
      [1, 1],
      [1, 0],
      [0, 0],
    ]);
    const kept = maskedMeanPooling({ axis: 1, keepDims: true }).computeMask(x, mask);
    expect(kept.shape).toEqual([3, 1, 4]);
    expect(maskedMeanPooling({ axis: 1 }).computeMask(x, null as never)).toBeNull();
  });

  it('without a mask it is tf.mean over the axes; keepDims and output shapes', async () => {
    const x = tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    const y = maskedMeanPooling({ axis: 1 }).apply(x) as Tensor;
    expect(await y.array()).toEqual([
      [2, 3],
      [6, 7],
    ]);
    const k = maskedMeanPooling({ axis: [-1], keepDims: true }).apply(x) as Tensor;
    expect(k.shape).toEqual([2, 2, 1]);
    expect(await k.array()).toEqual([
      [[1.5], [3.5]],
      [[5.5], [7.5]],
    ]);
    expect(maskedMeanPooling({ axis: [1, 3] }).computeOutputShape([null, 4, 5, 6])).toEqual([
      null,
      5,
    ]);
    expect(maskedMeanPooling({ axis: 2, keepDims: true }).computeOutputShape([null, 4, 5])).toEqual(
      [null, 4, 1],
    );
  });

  it('a mask over [batch, steps] with the default axis 1 (the GlobalAveragePooling1D case)', async () => {
    const x = tensor3d([
      [
        [1, 2],
        [3, 4],
        [100, 100],
      ],
    ]);
    const mask = tensor2d([[1, 1, 0]], undefined, 'int32');
    const y = maskedMeanPooling().apply(x, { mask }) as Tensor;
    expect(await y.array()).toEqual([[2, 3]]);
  });

  it('rejects bad axes and a mask that does not cover the reduced axes', () => {
    expect(() => maskedMeanPooling({ axis: 1.5 })).toThrow(/axis must be an integer/);
    expect(() => maskedMeanPooling({ axis: [] })).toThrow(/axis must be an integer/);
    expect(() => maskedMeanPooling({ axis: 0 }).computeOutputShape([null, 3])).toThrow(
      /batch axis/,
    );
    expect(() => maskedMeanPooling({ axis: 3 }).computeOutputShape([null, 3])).toThrow(
      /out of range/,
    );
    expect(() => maskedMeanPooling({ axis: [1, -2] }).computeOutputShape([null, 3, 4])).toThrow(
      /repeats/,
    );
    const x = tensor3d([[[1, 2]]]);
    const before = memory().numTensors;
    const mask = tensor2d([[1]], undefined, 'bool');
    expect(() => maskedMeanPooling({ axis: 2 }).apply(x, { mask })).toThrow(
      /axis 2 is not covered by the mask of shape \[1, 1\]/,
    );
    const wrong = tensor2d([[1, 1]], undefined, 'bool');
    expect(() => maskedMeanPooling({ axis: 1 }).apply(x, { mask: wrong })).toThrow(/leading dims/);
    mask.dispose();
    wrong.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('getConfig round-trips through the constructor', () => {
    const layer = maskedMeanPooling({ name: 'pool', axis: [1, -1], keepDims: true });
    expect(layer.getConfig()).toEqual({
      name: 'pool',
      trainable: true,
      axis: [1, -1],
      keepDims: true,
    });
    expect(new MaskedMeanPooling(layer.getConfig() as never).getConfig()).toEqual(
      layer.getConfig(),
    );
  });
});
