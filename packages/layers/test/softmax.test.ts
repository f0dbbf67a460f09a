// The mask-aware Softmax layer's API on the cpu backend: config, mask sources and precedence,
// computeMask, errors, gradients, what stock tfjs does instead, registerMaskingLayers, save / load
// and a Keras-format model. (Its numerics on every backend: test/support/softmax_scenarios.ts.)
import { readFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { referenceMaskedSoftmax, referenceMaskedSoftmaxGrad } from '@masked-ops/core';
import { compareValues } from '@masked-ops/core/testing';
import {
  grad,
  io,
  memory,
  mul,
  serialization,
  setBackend,
  sum,
  type Tensor,
  tensor,
  tensor2d,
  tensor3d,
} from '@tensorflow/tfjs-core';
import {
  model as functionalModel,
  type LayersModel,
  layers,
  loadLayersModel,
  models,
  type SymbolicTensor,
  sequential,
} from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  maskingLayersRegistered,
  registerMaskingLayers,
  Softmax,
  softmaxLayer,
} from '../src/index.js';
import { type ModelJson, memoryModelHandler } from './support/keras_fixture.js';

beforeAll(async () => {
  await setBackend('cpu');
});

let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

const LOGITS = [
  [
    [1, 2, 3, 4],
    [0.5, Number.NaN, -2, 8],
    [-1, 0, 1, 2],
  ],
  [
    [3, 3, 3, 3],
    [Number.POSITIVE_INFINITY, 1, 2, 3],
    [7, -7, 0, 1],
  ],
];
/** A Keras mask over [batch, queries]: query 1 of batch 0 and query 1 of batch 1 are padding. */
const QUERY_MASK = [
  [1, 0, 1],
  [1, 0, 1],
];
/** A key-padding mask [batch, 1, keys]: key 1 of batch 0 and key 0 of batch 1 are padding. */
const KEY_MASK = [[[1, 0, 1, 1]], [[0, 1, 1, 1]]];

function reference(mask: number[], maskShape: number[]) {
  return referenceMaskedSoftmax({
    logits: LOGITS.flat(2),
    logitsShape: [2, 3, 4],
    mask,
    maskShape,
    axis: 2,
    log: false,
  });
}

async function values(t: Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('Softmax: config and masks', () => {
  it('defaults to axis -1 (Keras’s default); getConfig has the tfjs / Keras keys', () => {
    const layer = softmaxLayer({ name: 'sm' });
    expect(layer).toBeInstanceOf(Softmax);
    expect(layer.getClassName()).toBe('Softmax');
    expect(layer.axis).toBe(-1);
    expect(layer.supportsMasking).toBe(true);
    expect(layer.getConfig()).toEqual({ axis: -1, name: 'sm', trainable: true });
    expect(softmaxLayer({ axis: [1, 2] }).getConfig()['axis']).toEqual([1, 2]);
  });

  it('rejects a bad axis', () => {
    expect(() => softmaxLayer({ axis: 1.5 })).toThrow(/axis must be an integer/);
    expect(() => softmaxLayer({ axis: [] })).toThrow(/axis must be an integer/);
    const x = tensor2d([[1, 2]]);
    expect(() => softmaxLayer({ axis: 2 }).apply(x)).toThrow(/axis 2 is out of range/);
    expect(() => softmaxLayer({ axis: [1, -1] }).apply(x)).toThrow(/repeats an axis/);
    x.dispose();
  });

  it('an incoming Keras mask [batch, queries] over logits [batch, queries, keys] masks whole query rows (leading dims, not NumPy-aligned)', async () => {
    const x = tensor3d(LOGITS);
    const mask = tensor2d(QUERY_MASK, undefined, 'bool');
    const out = await values(softmaxLayer().apply(x, { mask }) as Tensor);
    expect(compareValues(out, reference(QUERY_MASK.flat(), [2, 3, 1]), 'float32')).toEqual([]);
    expect(out.slice(4, 8)).toEqual([0, 0, 0, 0]); // padding query: all zeros, its NaN gone
    expect(out.slice(16, 20)).toEqual([0, 0, 0, 0]); // its +Inf gone too
    x.dispose();
    mask.dispose();
  });

  it('an explicit mask input broadcasts by NumPy rules ([batch, 1, keys] key padding) and takes precedence over the Keras mask', async () => {
    const x = tensor3d(LOGITS);
    const keys = tensor3d(KEY_MASK);
    const queries = tensor2d(QUERY_MASK, undefined, 'bool');
    const layer = softmaxLayer();
    const expected = reference(KEY_MASK.flat(2), [2, 1, 4]);
    const out = await values(layer.apply([x, keys]) as Tensor);
    expect(compareValues(out, expected, 'float32')).toEqual([]);
    // With a Keras mask too: the explicit one alone applies (query 1 of batch 0 is not zeroed).
    expect(await values(layer.apply([x, keys], { mask: queries }) as Tensor)).toEqual(out);
    expect(out[5]).toBe(0); // batch 0, query 1, key 1: masked, its NaN never leaks
    expect(out[4]).toBeGreaterThan(0); // that query (padding by the Keras mask) is not zeroed
    expect(out[4 * 3]).toBe(0); // batch 1, key 0 masked
    for (const t of [x, keys, queries]) t.dispose();
  });

  it('computeMask passes the logits’ mask through; an explicit mask input is not an output mask', () => {
    const layer = softmaxLayer();
    const x = tensor3d(LOGITS);
    const keys = tensor3d(KEY_MASK);
    const m = tensor2d(QUERY_MASK, undefined, 'bool');
    expect(layer.computeMask(x, m)).toBe(m);
    expect(layer.computeMask([x], [m])).toBe(m);
    expect(layer.computeMask([x, keys], [m, null as unknown as Tensor])).toBe(m);
    expect(layer.computeMask(x)).toBeNull();
    expect(layer.computeMask([x, keys], [null, null] as unknown as Tensor[])).toBeNull();
    for (const t of [x, keys, m]) t.dispose();
  });

  it('the output mask reaches the next layer in a model (Embedding -> Softmax -> GlobalAveragePooling1D)', async () => {
    const { globalAveragePooling1d } = await import('../src/index.js');
    const model = sequential();
    model.add(layers.embedding({ inputDim: 3, outputDim: 2, maskZero: true, inputShape: [3] }));
    model.add(softmaxLayer());
    model.add(globalAveragePooling1d());
    model.layers[0]!.setWeights([
      tensor2d([
        [9, 0],
        [0, 0],
        [1, 1],
      ]),
    ]);
    const x = tensor2d([[1, 2, 0]]);
    // Both real tokens give [0.5, 0.5]; the padding step is excluded from the mean (not averaged
    // in as a zero row, which would give [1/3, 1/3]).
    expect(await values(model.predict(x) as Tensor)).toEqual([0.5, 0.5]);
    x.dispose();
    model.dispose();
  });

  it('says what is wrong with a mask that does not fit', () => {
    const x = tensor3d(LOGITS);
    const wrong = tensor2d([[1, 1, 1, 1]], undefined, 'bool');
    expect(() => softmaxLayer().apply(x, { mask: wrong })).toThrow(
      /leading dims of the input's .* got mask \[1, 4\] for input \[2, 3, 4\]/,
    );
    const m = tensor2d(QUERY_MASK, undefined, 'bool');
    expect(() => softmaxLayer({ axis: [1, 2] }).apply(x, { mask: m })).toThrow(
      /with a mask the softmax runs along one axis/,
    );
    expect(() => softmaxLayer().apply([x, m, m])).toThrow(
      /expected the logits or \[logits, mask\]/,
    );
    for (const t of [x, wrong, m]) t.dispose();
  });

  it('without a mask a non-last axis works (tfjs’s layer rejects it)', async () => {
    const x = tensor3d(LOGITS.map((b) => b.map((r) => r.map((v) => (Number.isFinite(v) ? v : 0)))));
    const out = await values(softmaxLayer({ axis: 1 }).apply(x) as Tensor);
    const expected = referenceMaskedSoftmax({
      logits: Array.from(await x.data()),
      logitsShape: [2, 3, 4],
      mask: [1],
      maskShape: [1],
      axis: 1,
      log: false,
    });
    expect(compareValues(out, expected, 'float32')).toEqual([]);
    expect(() => layers.softmax({ axis: 1 }).apply(x)).toThrow(/non-last dimension/);
    x.dispose();
  });

  it('the gradient is the masked softmax’s: 0 at masked positions, nothing leaks', async () => {
    const finite = LOGITS.flat(2).map((v) => (Number.isFinite(v) ? v : 0));
    const x = tensor(finite, [2, 3, 4]);
    const keys = tensor3d(KEY_MASK);
    const w = tensor(
      finite.map((_, i) => (i % 5) - 2),
      [2, 3, 4],
    );
    const layer = softmaxLayer();
    const before = memory().numTensors;
    const dx = grad((xi: Tensor) => sum(mul(layer.apply([xi, keys]) as Tensor, w)))(x);
    const out = await values(dx);
    expect(memory().numTensors).toBe(before);
    const expected = referenceMaskedSoftmaxGrad(
      {
        logits: finite,
        logitsShape: [2, 3, 4],
        mask: KEY_MASK.flat(2),
        maskShape: [2, 1, 4],
        axis: 2,
        log: false,
      },
      Array.from(await w.data()),
    );
    expect(compareValues(out, expected, 'float32')).toEqual([]);
    for (const t of [x, keys, w]) t.dispose();
  });
});

describe('what tfjs-layers’ own Softmax does with the same mask (the bug)', () => {
  /** Embedding(maskZero) over `steps` tokens -> Dense(3) -> tfjs's or this package's Softmax. */
  function model(steps: number, ours: boolean): LayersModel {
    const m = sequential();
    m.add(layers.embedding({ inputDim: 3, outputDim: 1, maskZero: true, inputShape: [steps] }));
    m.add(layers.dense({ units: 3, useBias: false }));
    m.add(ours ? softmaxLayer() : layers.softmax({ axis: -1 }));
    m.layers[0]!.setWeights([tensor2d([[0], [1], [2]])]);
    m.layers[1]!.setWeights([tensor2d([[0, 0, 0]])]);
    return m;
  }

  it('3 steps, 3 classes: tfjs broadcasts the [batch, steps] mask over the classes; ours zeroes the padding step', async () => {
    const x = tensor2d([[1, 2, 0]]);
    // Zero kernel: every real step's logits are [0, 0, 0] -> [1/3, 1/3, 1/3].
    const stock = await values(model(3, false).predict(x) as Tensor);
    // tfjs: class 2 (the index of the padding step) is masked in every step, padding included.
    expect(stock.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([
      0.5, 0.5, 0, 0.5, 0.5, 0, 0.5, 0.5, 0,
    ]);
    const ours = await values(model(3, true).predict(x) as Tensor);
    const third = 1 / 3;
    ours.slice(0, 6).forEach((v) => {
      expect(v).toBeCloseTo(third, 6);
    });
    expect(ours.slice(6)).toEqual([0, 0, 0]);
    x.dispose();
  });

  it('4 steps, 3 classes: tfjs cannot broadcast the mask at all; ours works', async () => {
    const x = tensor2d([[1, 0, 0, 0]]);
    expect(() => model(4, false).predict(x)).toThrow(/broadcast/);
    const ours = await values(model(4, true).predict(x) as Tensor);
    expect(ours.slice(3)).toEqual(new Array(9).fill(0));
    x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

const registeredSoftmax = () =>
  serialization.SerializationMap.getMap().classNameMap['Softmax']?.[0];

async function saveToMemory(model: LayersModel): Promise<io.ModelArtifacts> {
  let saved: io.ModelArtifacts | null = null;
  await model.save(
    io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe('Softmax: registration and save / load', () => {
  it('importing the package leaves tfjs’s Softmax registered; registerMaskingLayers() replaces it and its return value puts it back', () => {
    const stock = registeredSoftmax();
    expect(stock).toBeDefined();
    expect(stock).not.toBe(Softmax);
    const undo = registerMaskingLayers();
    expect(registeredSoftmax()).toBe(Softmax);
    expect(maskingLayersRegistered()).toBe(true);
    undo();
    expect(registeredSoftmax()).toBe(stock);
    expect(maskingLayersRegistered()).toBe(false);
  });

  it('round trip: saved in Keras’s format, loaded as this class with the same config and outputs', async () => {
    restore = registerMaskingLayers();
    const logits = layers.input({ shape: [3, 4], name: 'logits' });
    const mask = layers.input({ shape: [1, 4], name: 'key_mask' });
    const out = softmaxLayer({ name: 'sm', axis: 2 }).apply([logits, mask]) as SymbolicTensor;
    const original = functionalModel({ inputs: [logits, mask], outputs: out });
    const inputs = [tensor3d(LOGITS), tensor3d(KEY_MASK)];
    const predict = async (m: LayersModel) => values(m.predict(inputs) as Tensor);
    const before = await predict(original);

    const artifacts = await saveToMemory(original);
    const topology = artifacts.modelTopology as {
      config: { layers: { class_name: string; config: Record<string, unknown> }[] };
    };
    expect(topology.config.layers.find((l) => l.config['name'] === 'sm')).toMatchObject({
      class_name: 'Softmax',
      config: { name: 'sm', trainable: true, axis: 2 },
    });

    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    expect(loaded.getLayer('sm')).toBeInstanceOf(Softmax);
    expect(loaded.getLayer('sm').getConfig()).toEqual(original.getLayer('sm').getConfig());
    expect(await predict(loaded)).toEqual(before);

    const fromJson = await models.modelFromJSON(JSON.parse(original.toJSON(null, true) as string));
    expect(fromJson.getLayer('sm')).toBeInstanceOf(Softmax);
    for (const t of inputs) t.dispose();
  });

  it('a model saved with this layer (no mask) loads in stock tfjs and predicts the same', async () => {
    const input = layers.input({ shape: [5] });
    const out = softmaxLayer({ name: 'sm' }).apply(input) as SymbolicTensor;
    const original = functionalModel({ inputs: input, outputs: out });
    const artifacts = await saveToMemory(original);
    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    expect(loaded.getLayer('sm')).not.toBeInstanceOf(Softmax);
    expect(loaded.getLayer('sm').getClassName()).toBe('Softmax');
    const x = tensor2d([[1, -2, 3, 0.5, 10]]);
    expect(await values(loaded.predict(x) as Tensor)).toEqual(
      await values(original.predict(x) as Tensor),
    );
    x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// test/fixtures/keras-embedding-dense-softmax.model.json: what the TensorFlow.js converter writes
// for Keras 2.15's `Sequential([Embedding(5, 2, mask_zero=True, input_length=4), Dense(3),
// Softmax()])`. (Keras itself adds the [batch, 4] mask to the [batch, 4, 3] logits as is and fails
// to broadcast it; the expected values are this package's semantics: one mask flag per step.)

const KERAS_WEIGHTS = {
  denseKernel: [
    [0.5, -1, 2],
    [1, 0.25, -0.5],
  ],
  denseBias: [0.1, 0, -0.1],
  embeddings: [
    [0, 0],
    [1, 1],
    [3, -1],
    [-2, 2],
    [0.5, 4],
  ],
};
const KERAS_TOKENS = [
  [1, 2, 0, 0],
  [4, 3, 3, 1],
  [0, 0, 0, 0],
];

function kerasSoftmaxJson(): ModelJson {
  return JSON.parse(
    readFileSync(
      new URL('./fixtures/keras-embedding-dense-softmax.model.json', import.meta.url),
      'utf8',
    ),
  ) as ModelJson;
}

function kerasSoftmaxBin(): ArrayBuffer {
  const w = KERAS_WEIGHTS;
  return new Float32Array([...w.denseKernel.flat(), ...w.denseBias, ...w.embeddings.flat()]).buffer;
}

/** float64: the Dense logits of every token, softmaxed over the classes with the step mask. */
function kerasExpected() {
  const { denseKernel: k, denseBias: b, embeddings: e } = KERAS_WEIGHTS;
  const logits = KERAS_TOKENS.flat().flatMap((id) =>
    [0, 1, 2].map((c) => e[id]![0]! * k[0]![c]! + e[id]![1]! * k[1]![c]! + b[c]!),
  );
  return referenceMaskedSoftmax({
    logits,
    logitsShape: [3, 4, 3],
    mask: KERAS_TOKENS.flat().map((id) => (id === 0 ? 0 : 1)),
    maskShape: [3, 4, 1],
    axis: 2,
    log: false,
  });
}

describe('a Keras model Embedding(mask_zero=True) -> Dense(3) -> Softmax', () => {
  const load = () =>
    loadLayersModel(
      memoryModelHandler(kerasSoftmaxJson(), { 'group1-shard1of1.bin': kerasSoftmaxBin() }),
    );

  it('stock tfjs loads it but cannot predict (the mask does not broadcast over the classes)', async () => {
    const model = await load();
    expect(model.getLayer('softmax')).not.toBeInstanceOf(Softmax);
    const x = tensor2d(KERAS_TOKENS);
    expect(() => model.predict(x)).toThrow(/broadcast/);
    x.dispose();
    model.dispose();
  });

  it('after registerMaskingLayers(): per-token probabilities, all-zero rows at padding', async () => {
    restore = registerMaskingLayers();
    const model = await load();
    const layer = model.getLayer('softmax');
    expect(layer).toBeInstanceOf(Softmax);
    expect((layer as Softmax).axis).toBe(-1);
    const x = tensor2d(KERAS_TOKENS);
    const y = model.predict(x) as Tensor;
    expect(y.shape).toEqual([3, 4, 3]);
    const out = await values(y);
    expect(compareValues(out, kerasExpected(), 'float32')).toEqual([]);
    expect(out.slice(6, 12)).toEqual(new Array(6).fill(0));
    expect(out.slice(24)).toEqual(new Array(12).fill(0));
    x.dispose();
    model.dispose();
  });
});
