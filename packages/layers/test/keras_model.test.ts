// A Keras-converted model (hand-written fixture in the converter's format) loaded with
// tf.loadLayersModel: stock tfjs averages the padding in; after registerMaskingLayers() the same
// file predicts Keras's masked mean. cpu backend.
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { setBackend, type Tensor, tensor2d } from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel, models } from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GlobalAveragePooling1D,
  maskingLayersRegistered,
  registerMaskingLayers,
} from '../src/index.js';
import {
  KERAS_EXPECTED_MASKED,
  KERAS_EXPECTED_PADDED,
  KERAS_INPUT,
  kerasModelJson,
  kerasWeightsBin,
  type ModelJson,
  memoryModelHandler,
} from './support/keras_fixture.js';

beforeAll(async () => {
  await setBackend('cpu');
});

let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

const load = (json: ModelJson = kerasModelJson()): Promise<LayersModel> =>
  loadLayersModel(memoryModelHandler(json, { 'group1-shard1of1.bin': kerasWeightsBin() }));

async function predict(model: LayersModel, rows = KERAS_INPUT) {
  const x = tensor2d(rows);
  const y = model.predict(x) as Tensor;
  const out = { shape: y.shape, values: (await y.data()) as Float32Array };
  x.dispose();
  y.dispose();
  model.dispose();
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(actual[i]).toBeCloseTo(e, 5);
  });
}

/** The fixture with its GlobalAveragePooling1D / Embedding configs edited. */
function variant(
  edit: (layers: { class_name: string; config: Record<string, unknown> }[]) => void,
) {
  const json = kerasModelJson();
  const topology = json.modelTopology as {
    model_config: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  };
  edit(topology.model_config.config.layers);
  return json;
}

describe('a Keras model with Embedding(mask_zero=True) + GlobalAveragePooling1D', () => {
  it('importing the package does not change what tfjs loads', () => {
    expect(maskingLayersRegistered()).toBe(false);
  });

  it('stock tfjs (no registerMaskingLayers) averages the padding in: the bug', async () => {
    const model = await load();
    expect(model.getLayer('global_average_pooling1d')).not.toBeInstanceOf(GlobalAveragePooling1D);
    expect(model.getLayer('global_average_pooling1d').getClassName()).toBe(
      'GlobalAveragePooling1D',
    );
    const { shape, values } = await predict(model);
    expect(shape).toEqual([4, 1]);
    expectClose(values, KERAS_EXPECTED_PADDED.flat());
  });

  it('after registerMaskingLayers() it predicts Keras’s masked mean (all-padding row: 0)', async () => {
    restore = registerMaskingLayers();
    expect(maskingLayersRegistered()).toBe(true);
    const model = await load();
    const pool = model.getLayer('global_average_pooling1d');
    expect(pool).toBeInstanceOf(GlobalAveragePooling1D);
    expect((pool as GlobalAveragePooling1D).dataFormat).toBe('channelsLast');
    expect((pool as GlobalAveragePooling1D).keepDims).toBe(false);
    const { shape, values } = await predict(model);
    expect(shape).toEqual([4, 1]);
    expectClose(values, KERAS_EXPECTED_MASKED.flat());
  });

  it('a model without mask_zero predicts exactly what stock tfjs does', async () => {
    restore = registerMaskingLayers();
    const json = variant((layers) => {
      layers[1]!.config['mask_zero'] = false;
    });
    const model = await load(json);
    expect(model.getLayer('global_average_pooling1d')).toBeInstanceOf(GlobalAveragePooling1D);
    expectClose((await predict(model)).values, KERAS_EXPECTED_PADDED.flat());
  });

  it('keepdims=True in the Keras config is honoured ([batch, 1, 1] out)', async () => {
    restore = registerMaskingLayers();
    const json = variant((layers) => {
      layers[2]!.config['keepdims'] = true;
    });
    const { shape, values } = await predict(await load(json));
    expect(shape).toEqual([4, 1, 1]);
    expectClose(values, KERAS_EXPECTED_MASKED.flat());
  });

  it('tf.models.modelFromJSON uses the registered class too', async () => {
    restore = registerMaskingLayers();
    const model = await models.modelFromJSON(kerasModelJson().modelTopology as never);
    expect(model.getLayer('global_average_pooling1d')).toBeInstanceOf(GlobalAveragePooling1D);
    model.dispose();
  });

  it('the function registerMaskingLayers returns puts tfjs’s class back; calling it twice is harmless', async () => {
    const undo1 = registerMaskingLayers();
    const undo2 = registerMaskingLayers();
    expect(maskingLayersRegistered()).toBe(true);
    undo2(); // restores what was there before the second call: still ours
    expect(maskingLayersRegistered()).toBe(true);
    undo1();
    expect(maskingLayersRegistered()).toBe(false);
    const model = await load();
    expect(model.getLayer('global_average_pooling1d')).not.toBeInstanceOf(GlobalAveragePooling1D);
    model.dispose();
  });
});
