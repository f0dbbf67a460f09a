// MaskedMaxPooling: configurable axes, against the float64 reference (cpu backend).
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { type ReferenceResult, referenceMaskedReduce } from '@masked-ops/core';
import { compareValues, seededRandom } from '@masked-ops/core/testing';
import {
  memory,
  serialization,
  setBackend,
  type Tensor,
  tensor,
  tensor2d,
  tensor3d,
} from '@tensorflow/tfjs-core';
import { model as functionalModel, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MaskedMaxPooling, MaskedMeanPooling, maskedMaxPooling } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/** The first mismatch against the reference, or null (max is exact: no tolerance). */
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

/**
 * Word vectors: negative features where the word exists, zeros (what Masking masks) elsewhere, so
 * a max that counted the padding would give 0 wherever a sentence has padding.
 */
function documents(): Float32Array {
  const rand = seededRandom(99);
  const values = new Float32Array(3 * 2 * 4 * 3);
  WORDS.flat(2).forEach((valid, w) => {
    for (let f = 0; f < 3; f++) values[w * 3 + f] = valid ? -(0.25 + 4 * rand()) : 0;
  });
  return values;
}

describe('MaskedMaxPooling', () => {
  it('is registered for serialization by importing the package', () => {
    const entry = serialization.SerializationMap.getMap().classNameMap['MaskedMaxPooling'];
    expect(entry?.[0]).toBe(MaskedMaxPooling);
    expect(maskedMaxPooling()).not.toBeInstanceOf(MaskedMeanPooling);
  });

  it('Masking -> MaskedMaxPooling(axis [1, 2]) pools each document over its real words', async () => {
    const xs = documents();
    const input = layers.input({ shape: DOC_SHAPE.slice(1) });
    const pooled = maskedMaxPooling({ axis: [1, 2] }).apply(
      layers.masking({ maskValue: 0 }).apply(input),
    ) as SymbolicTensor;
    expect(pooled.shape).toEqual([null, 3]);
    const m = functionalModel({ inputs: input, outputs: pooled });
    const x = tensor(xs, DOC_SHAPE);
    const y = m.predict(x) as Tensor;
    const values = await y.data();
    const ref = referenceMaskedReduce(
      'max',
      xs,
      DOC_SHAPE,
      WORDS.flat(2),
      [3, 2, 4],
      [1, 2],
      false,
    );
    expect(firstMismatch(values, ref)).toBeNull();
    // Every real word is negative, so documents 0 and 1 max-pool to negatives (the padding's 0
    // would win otherwise); the empty document gives exactly 0.
    expect(Array.from(values.slice(0, 6)).every((v) => v < 0)).toBe(true);
    expect(Array.from(values.slice(6))).toEqual([0, 0, 0]);
    x.dispose();
    y.dispose();
  });

  it('hierarchical: words -> sentences (axis 2, passes an any-mask on) -> document (axis 1)', async () => {
    const xs = documents();
    const input = layers.input({ shape: DOC_SHAPE.slice(1) });
    const masked = layers.masking({ maskValue: 0 }).apply(input);
    const sentences = maskedMaxPooling({ axis: 2 }).apply(masked) as SymbolicTensor;
    const doc = maskedMaxPooling({ axis: -2 }).apply(sentences) as SymbolicTensor;
    expect(sentences.shape).toEqual([null, 2, 3]);
    expect(doc.shape).toEqual([null, 3]);
    const m = functionalModel({ inputs: input, outputs: [sentences, doc] });
    const x = tensor(xs, DOC_SHAPE);
    const [ys, yd] = m.predict(x) as Tensor[];
    const refS = referenceMaskedReduce('max', xs, DOC_SHAPE, WORDS.flat(2), [3, 2, 4], [2], false);
    expect(firstMismatch(await ys!.data(), refS)).toBeNull();
    // Sentence validity by hand: doc 0 both, doc 1 first only, doc 2 none. Document 1's empty
    // sentence pools to 0, which must not win over its real (negative) sentence.
    const sentenceMask = [1, 1, 1, 0, 0, 0];
    const refD = referenceMaskedReduce(
      'max',
      refS.values,
      [3, 2, 3],
      sentenceMask,
      [3, 2],
      [1],
      false,
    );
    const docs = await yd!.data();
    expect(firstMismatch(docs, refD)).toBeNull();
    expect(Array.from(docs.slice(3, 6)).every((v) => v < 0)).toBe(true);
    x.dispose();
    ys!.dispose();
    yd!.dispose();
  });

  it('computeMask: null once every mask axis is reduced, else `any` over the reduced ones', async () => {
    const x = tensor(documents(), DOC_SHAPE);
    const mask = tensor(WORDS.flat(2), [3, 2, 4], 'bool');
    expect(maskedMaxPooling({ axis: [1, 2] }).computeMask(x, mask)).toBeNull();
    const out = maskedMaxPooling({ axis: 2 }).computeMask(x, mask);
    expect(out.shape).toEqual([3, 2]);
    expect(out.dtype).toBe('bool');
    expect(await out.array()).toEqual([
      [1, 1],
      [1, 0],
      [0, 0],
    ]);
    expect(maskedMaxPooling({ axis: 1 }).computeMask(x, null as never)).toBeNull();
  });

  it('without a mask it is tf.max over the axes; keepDims and output shapes', async () => {
    const x = tensor3d([
      [
        [1, 2],
        [3, -4],
      ],
      [
        [5, 6],
        [-7, 8],
      ],
    ]);
    const y = maskedMaxPooling({ axis: 1 }).apply(x) as Tensor;
    expect(await y.array()).toEqual([
      [3, 2],
      [5, 8],
    ]);
    const k = maskedMaxPooling({ axis: [-1], keepDims: true }).apply(x) as Tensor;
    expect(k.shape).toEqual([2, 2, 1]);
    expect(await k.array()).toEqual([
      [[2], [3]],
      [[6], [8]],
    ]);
    expect(maskedMaxPooling({ axis: [1, 3] }).computeOutputShape([null, 4, 5, 6])).toEqual([
      null,
      5,
    ]);
  });

  it('a mask over [batch, steps] with the default axis 1 (the GlobalMaxPooling1D case)', async () => {
    const x = tensor3d([
      [
        [1, -2],
        [3, -4],
        [100, 100],
      ],
    ]);
    const mask = tensor2d([[1, 1, 0]], undefined, 'int32');
    const y = maskedMaxPooling().apply(x, { mask }) as Tensor;
    expect(await y.array()).toEqual([[3, -2]]);
  });

  it('rejects bad axes and a mask that does not cover the reduced axes', () => {
    expect(() => maskedMaxPooling({ axis: 1.5 })).toThrow(
      /MaskedMaxPooling: axis must be an integer/,
    );
    expect(() => maskedMaxPooling({ axis: 0 }).computeOutputShape([null, 3])).toThrow(/batch axis/);
    const x = tensor3d([[[1, 2]]]);
    const before = memory().numTensors;
    const mask = tensor2d([[1]], undefined, 'bool');
    expect(() => maskedMaxPooling({ axis: 2 }).apply(x, { mask })).toThrow(
      /axis 2 is not covered by the mask of shape \[1, 1\]/,
    );
    mask.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('getConfig round-trips through the constructor', () => {
    const layer = maskedMaxPooling({ name: 'pool', axis: [1, -1], keepDims: true });
    expect(layer.getConfig()).toEqual({
      name: 'pool',
      trainable: true,
      axis: [1, -1],
      keepDims: true,
    });
    expect(new MaskedMaxPooling(layer.getConfig() as never).getConfig()).toEqual(layer.getConfig());
  });
});
