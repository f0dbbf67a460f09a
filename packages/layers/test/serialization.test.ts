// Save / load round trips through tf.io in-memory handlers (cpu backend).
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { io, setBackend, type Tensor, tensor, tensor1d, tensor2d } from '@tensorflow/tfjs-core';
import {
  constraints,
  model as functionalModel,
  initializers,
  type LayersModel,
  layers,
  loadLayersModel,
  models,
  regularizers,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EmbeddingBag,
  embeddingBagLayer,
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  globalAveragePooling1d,
  globalMaxPooling1d,
  MaskedMaxPooling,
  MaskedMeanPooling,
  maskedMaxPooling,
  maskedMeanPooling,
  registerMaskingLayers,
} from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

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

/** The saved Keras-format config of the layer called `name`. */
function savedLayer(artifacts: io.ModelArtifacts, name: string) {
  const topology = artifacts.modelTopology as {
    config: { layers: { class_name: string; config: Record<string, unknown> }[] };
  };
  return topology.config.layers.find((l) => l.config['name'] === name);
}

async function predict(model: LayersModel, x: Tensor): Promise<number[]> {
  const y = model.predict(x) as Tensor;
  const out = Array.from(await y.data());
  y.dispose();
  return out;
}

/** Embedding(maskZero) -> Global{Average,Max}Pooling1D(keepDims) -> Flatten -> Dense, fixed weights. */
function embeddingModel(reducer: 'mean' | 'max' = 'mean'): LayersModel {
  const input = layers.input({ shape: [4] });
  const emb = layers.embedding({ inputDim: 4, outputDim: 2, maskZero: true, name: 'emb' });
  const pool = reducer === 'mean' ? globalAveragePooling1d : globalMaxPooling1d;
  const pooled = pool({ keepDims: true, name: 'pool' }).apply(emb.apply(input));
  const dense = layers.dense({ units: 1, name: 'out' });
  const out = dense.apply(layers.flatten().apply(pooled)) as SymbolicTensor;
  const model = functionalModel({ inputs: input, outputs: out });
  emb.setWeights([
    tensor2d([
      [7, 7],
      [1, 1],
      [3, 3],
      [5, -1],
    ]),
  ]);
  dense.setWeights([tensor2d([[1], [-2]]), tensor1d([0.5])]);
  return model;
}
const TOKENS = [
  [1, 2, 0, 0],
  [3, 3, 3, 1],
  [0, 0, 0, 0],
];
// Masked means [2, 2], [(15+1)/4, (-3+1)/4] = [4, -0.5], [0, 0]; out = a - 2 b + 0.5.
const EMBEDDING_EXPECTED = [2 - 4 + 0.5, 4 + 1 + 0.5, 0.5];
// Masked maxes (the padding's [7, 7] never counted) [3, 3], [5, 1], [0, 0]; out = a - 2 b + 0.5.
const EMBEDDING_MAX_EXPECTED = [3 - 6 + 0.5, 5 - 2 + 0.5, 0.5];

describe('save / load round trip', () => {
  it('GlobalAveragePooling1D keeps its class and config, and is saved in Keras’s format', async () => {
    restore = registerMaskingLayers();
    const original = embeddingModel();
    const x = tensor2d(TOKENS);
    const before = await predict(original, x);
    before.forEach((v, i) => {
      expect(v).toBeCloseTo(EMBEDDING_EXPECTED[i]!, 5);
    });

    const artifacts = await saveToMemory(original);
    expect(savedLayer(artifacts, 'pool')).toEqual({
      class_name: 'GlobalAveragePooling1D',
      config: { name: 'pool', trainable: true, data_format: 'channels_last', keepdims: true },
      name: 'pool',
      inbound_nodes: [[['emb', 0, 0, {}]]],
    });

    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    const pool = loaded.getLayer('pool');
    expect(pool).toBeInstanceOf(GlobalAveragePooling1D);
    expect(pool.getConfig()).toEqual(original.getLayer('pool').getConfig());
    expect(await predict(loaded, x)).toEqual(before);
  });

  it('GlobalMaxPooling1D keeps its class and config, and is saved in Keras’s format', async () => {
    restore = registerMaskingLayers();
    const original = embeddingModel('max');
    const x = tensor2d(TOKENS);
    const before = await predict(original, x);
    expect(before).toEqual(EMBEDDING_MAX_EXPECTED);

    const artifacts = await saveToMemory(original);
    expect(savedLayer(artifacts, 'pool')).toEqual({
      class_name: 'GlobalMaxPooling1D',
      config: { name: 'pool', trainable: true, data_format: 'channels_last', keepdims: true },
      name: 'pool',
      inbound_nodes: [[['emb', 0, 0, {}]]],
    });

    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    const pool = loaded.getLayer('pool');
    expect(pool).toBeInstanceOf(GlobalMaxPooling1D);
    expect(pool.getConfig()).toEqual(original.getLayer('pool').getConfig());
    expect(await predict(loaded, x)).toEqual(before);
  });

  it('MaskedMeanPooling keeps its class and config (registered on import, no call needed)', async () => {
    const input = layers.input({ shape: [2, 3, 2] });
    const masked = layers.masking({ maskValue: 0 }).apply(input);
    const pooled = maskedMeanPooling({ axis: [1, -2], keepDims: false, name: 'mmp' }).apply(masked);
    const original = functionalModel({ inputs: input, outputs: pooled as SymbolicTensor });
    const x = tensor(
      [
        [
          [
            [1, 2],
            [0, 0],
            [3, 4],
          ],
          [
            [0, 0],
            [5, 6],
            [0, 0],
          ],
        ],
      ],
      [1, 2, 3, 2],
    );
    const artifacts = await saveToMemory(original);
    expect(savedLayer(artifacts, 'mmp')?.config).toEqual({
      name: 'mmp',
      trainable: true,
      axis: [1, -2],
      keep_dims: false,
    });
    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    expect(loaded.getLayer('mmp')).toBeInstanceOf(MaskedMeanPooling);
    expect(loaded.getLayer('mmp').getConfig()).toEqual(original.getLayer('mmp').getConfig());
    // (1 + 3 + 5) / 3, (2 + 4 + 6) / 3.
    expect(await predict(loaded, x)).toEqual([3, 4]);
  });

  it('MaskedMaxPooling keeps its class and config (registered on import, no call needed)', async () => {
    const input = layers.input({ shape: [2, 3, 2] });
    const masked = layers.masking({ maskValue: 0 }).apply(input);
    const pooled = maskedMaxPooling({ axis: [1, -2], name: 'mxp' }).apply(masked);
    const original = functionalModel({ inputs: input, outputs: pooled as SymbolicTensor });
    // Real vectors are negative: a max that counted the zero padding would give [0, 0].
    const x = tensor(
      [
        [
          [
            [-1, -6],
            [0, 0],
            [-3, -4],
          ],
          [
            [0, 0],
            [-5, -2],
            [0, 0],
          ],
        ],
      ],
      [1, 2, 3, 2],
    );
    const artifacts = await saveToMemory(original);
    expect(savedLayer(artifacts, 'mxp')).toMatchObject({
      class_name: 'MaskedMaxPooling',
      config: { name: 'mxp', trainable: true, axis: [1, -2], keep_dims: false },
    });
    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    expect(loaded.getLayer('mxp')).toBeInstanceOf(MaskedMaxPooling);
    expect(loaded.getLayer('mxp').getConfig()).toEqual(original.getLayer('mxp').getConfig());
    // max(-1, -3, -5), max(-6, -4, -2).
    expect(await predict(loaded, x)).toEqual([-1, -2]);
  });

  it('a model saved with this layer loads in stock tfjs (without registerMaskingLayers)', async () => {
    const input = layers.input({ shape: [3, 2] });
    const dense = layers.dense({ units: 1, name: 'out' });
    const out = dense.apply(globalAveragePooling1d({ name: 'pool' }).apply(input));
    const original = functionalModel({ inputs: input, outputs: out as SymbolicTensor });
    dense.setWeights([tensor2d([[1], [10]]), tensor1d([0])]);
    const artifacts = await saveToMemory(original);

    const loaded = await loadLayersModel(io.fromMemory(artifacts));
    expect(loaded.getLayer('pool')).not.toBeInstanceOf(GlobalAveragePooling1D);
    expect(loaded.getLayer('pool').getClassName()).toBe('GlobalAveragePooling1D');
    const x = tensor(
      [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      ],
      [1, 3, 2],
    );
    // No mask: both classes compute mean over steps [3, 4] -> 3 + 40.
    expect(await predict(loaded, x)).toEqual([43]);
    expect(await predict(original, x)).toEqual([43]);
  });

  it('EmbeddingBag keeps its class, config (every key) and table (registered on import, no call needed)', async () => {
    // A DeepFM-style pair of fields: a multi-valued one (bags of up to 4 ids, padded with the last
    // row) and a single-valued one through tfjs's own Embedding.
    const tags = layers.input({ shape: [4], name: 'tags' });
    const user = layers.input({ shape: [1], name: 'user' });
    const bag = embeddingBagLayer({
      name: 'tags_bag',
      inputDim: 6,
      outputDim: 3,
      mode: 'max',
      paddingId: -1,
      embeddingsInitializer: initializers.randomNormal({ mean: 0, stddev: 1, seed: 21 }),
      embeddingsRegularizer: regularizers.l1l2({ l1: 0.01, l2: 0.02 }),
      embeddingsConstraint: constraints.maxNorm({ maxValue: 3, axis: 1 }),
    }).apply(tags) as SymbolicTensor;
    const userVec = layers
      .flatten()
      .apply(layers.embedding({ inputDim: 4, outputDim: 3, name: 'user_emb' }).apply(user));
    const out = layers
      .dense({ units: 1, name: 'out' })
      .apply(layers.concatenate().apply([bag, userVec as SymbolicTensor]));
    const original = functionalModel({ inputs: [tags, user], outputs: out as SymbolicTensor });
    const x = [
      tensor2d([
        [1, 2, 5, 5],
        [5, 5, 5, 5],
        [0, 3, 3, 4],
      ]),
      tensor2d([[0], [3], [1]]),
    ];
    const predictAll = async (m: LayersModel) => {
      const y = m.predict(x) as Tensor;
      const v = Array.from(await y.data());
      y.dispose();
      return v;
    };
    const before = await predictAll(original);

    const artifacts = await saveToMemory(original);
    expect(savedLayer(artifacts, 'tags_bag')).toMatchObject({
      class_name: 'EmbeddingBag',
      config: {
        name: 'tags_bag',
        trainable: true,
        batch_input_shape: [null, null],
        input_dim: 6,
        output_dim: 3,
        mode: 'max',
        padding_id: -1,
        embeddings_initializer: {
          class_name: 'RandomNormal',
          config: { mean: 0, stddev: 1, seed: 21 },
        },
        embeddings_regularizer: { class_name: 'L1L2', config: { l1: 0.01, l2: 0.02 } },
        embeddings_constraint: { class_name: 'MaxNorm', config: { max_value: 3, axis: 1 } },
      },
    });

    const checkLoaded = async (loaded: LayersModel) => {
      const layer = loaded.getLayer('tags_bag');
      expect(layer).toBeInstanceOf(EmbeddingBag);
      expect(layer.getConfig()).toEqual(original.getLayer('tags_bag').getConfig());
      expect(layer.losses).toHaveLength(1);
      const after = await predictAll(loaded);
      // Loading writes the table through its maxNorm constraint: norms are far below 3, so only
      // maxNorm's epsilon (1e-7 relative) moves the values.
      after.forEach((v, i) => {
        expect(v).toBeCloseTo(before[i]!, 5);
      });
    };
    await checkLoaded(await loadLayersModel(io.fromMemory(artifacts)));

    // toJSON -> modelFromJSON (topology only, fresh weights): the same layers and configs.
    const fromJson = await models.modelFromJSON(JSON.parse(original.toJSON(null, true) as string));
    expect(fromJson.getLayer('tags_bag')).toBeInstanceOf(EmbeddingBag);
    expect(fromJson.getLayer('tags_bag').getConfig()).toEqual(
      original.getLayer('tags_bag').getConfig(),
    );
    for (const t of x) t.dispose();
  });
});
