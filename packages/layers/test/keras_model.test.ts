// Keras-converted models (hand-written fixtures in the converter's format) loaded with
// tf.loadLayersModel: stock tfjs averages (or max-pools) the padding in; after
// registerMaskingLayers() the same files pool over the real tokens only. cpu backend.
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { setBackend, type Tensor, tensor2d } from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel, models } from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  maskingLayersRegistered,
  registerMaskingLayers,
} from '../src/index.js';
import {
  KERAS_EXPECTED_MASKED,
  KERAS_EXPECTED_PADDED,
  KERAS_INPUT,
  KERAS_MAX_EXPECTED_MASKED,
  KERAS_MAX_EXPECTED_PADDED,
  KERAS_MAX_INPUT,
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

/** A fixture with its Embedding (`layers[1]`) / pooling (`layers[2]`) configs edited. */
function variant(
  edit: (layers: { class_name: string; config: Record<string, unknown> }[]) => void,
  fixture: 'gap1d' | 'gmp1d' = 'gap1d',
) {
  const json = kerasModelJson(fixture);
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
    const maxModel = await load(kerasModelJson('gmp1d'));
    expect(maxModel.getLayer('global_max_pooling1d')).not.toBeInstanceOf(GlobalMaxPooling1D);
    maxModel.dispose();
  });
});

describe('a Keras model with Embedding(mask_zero=True) + GlobalMaxPooling1D', () => {
  const loadMax = (json: ModelJson = kerasModelJson('gmp1d')) => load(json);

  it('stock tfjs (no registerMaskingLayers) takes the padding’s [0, 0] into the max', async () => {
    expect(maskingLayersRegistered()).toBe(false);
    const model = await loadMax();
    expect(model.getLayer('global_max_pooling1d')).not.toBeInstanceOf(GlobalMaxPooling1D);
    expect(model.getLayer('global_max_pooling1d').getClassName()).toBe('GlobalMaxPooling1D');
    const { shape, values } = await predict(model, KERAS_MAX_INPUT);
    expect(shape).toEqual([4, 1]);
    expectClose(values, KERAS_MAX_EXPECTED_PADDED.flat());
  });

  it('after registerMaskingLayers() it loads masked: the max over real tokens (all-padding row: 0)', async () => {
    restore = registerMaskingLayers();
    const model = await loadMax();
    const pool = model.getLayer('global_max_pooling1d');
    expect(pool).toBeInstanceOf(GlobalMaxPooling1D);
    expect((pool as GlobalMaxPooling1D).dataFormat).toBe('channelsLast');
    expect((pool as GlobalMaxPooling1D).keepDims).toBe(false);
    const { shape, values } = await predict(model, KERAS_MAX_INPUT);
    expect(shape).toEqual([4, 1]);
    expectClose(values, KERAS_MAX_EXPECTED_MASKED.flat());
  });

  it('without mask_zero it predicts exactly what stock tfjs does; keepdims=True is honoured', async () => {
    restore = registerMaskingLayers();
    const unmasked = variant((layers) => {
      layers[1]!.config['mask_zero'] = false;
    }, 'gmp1d');
    const model = await loadMax(unmasked);
    expect(model.getLayer('global_max_pooling1d')).toBeInstanceOf(GlobalMaxPooling1D);
    expectClose((await predict(model, KERAS_MAX_INPUT)).values, KERAS_MAX_EXPECTED_PADDED.flat());
    const kept = variant((layers) => {
      layers[2]!.config['keepdims'] = true;
    }, 'gmp1d');
    const { shape, values } = await predict(await loadMax(kept), KERAS_MAX_INPUT);
    expect(shape).toEqual([4, 1, 1]);
    expectClose(values, KERAS_MAX_EXPECTED_MASKED.flat());
  });

  it('the restore function puts tfjs’s GlobalMaxPooling1D back too', async () => {
    const undo = registerMaskingLayers();
    undo();
    expect(maskingLayersRegistered()).toBe(false);
    const model = await loadMax();
    expect(model.getLayer('global_max_pooling1d')).not.toBeInstanceOf(GlobalMaxPooling1D);
    expectClose((await predict(model, KERAS_MAX_INPUT)).values, KERAS_MAX_EXPECTED_PADDED.flat());
  });
});
