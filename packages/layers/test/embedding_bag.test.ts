// EmbeddingBag: arguments, config (as tfjs's Embedding), shapes, masks, input dtypes, regularizer
// and constraint (cpu backend). Outputs and gradients on every backend: support/backend_suite.ts.
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import {
  memory,
  serialization,
  setBackend,
  type Tensor,
  tensor2d,
  train,
} from '@tensorflow/tfjs-core';
import {
  constraints,
  model as functionalModel,
  initializers,
  layers,
  regularizers,
  type SymbolicTensor,
  sequential,
} from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EmbeddingBag,
  type EmbeddingBagLayerArgs,
  embeddingBagLayer,
  registerMaskingLayers,
} from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

async function values(t: Tensor): Promise<number[][]> {
  const out = (await t.array()) as number[][];
  t.dispose();
  return out;
}

describe('EmbeddingBag', () => {
  it('is registered for serialization by importing the package, under a name new to tfjs', () => {
    const map = serialization.SerializationMap.getMap().classNameMap;
    expect(map['EmbeddingBag']?.[0]).toBe(EmbeddingBag);
    // registerMaskingLayers() registers it too, and restoring leaves it in place.
    const restore = registerMaskingLayers();
    expect(map['EmbeddingBag']?.[0]).toBe(EmbeddingBag);
    restore();
    expect(map['EmbeddingBag']?.[0]).toBe(EmbeddingBag);
  });

  it('defaults: mode mean, no paddingId, randomUniform(-0.05, 0.05) table named embeddings', () => {
    const layer = embeddingBagLayer({ inputDim: 50, outputDim: 4 });
    expect(layer).toBeInstanceOf(EmbeddingBag);
    expect(layer.name).toMatch(/^embedding_bag/);
    expect(layer.mode).toBe('mean');
    expect(layer.paddingId).toBeNull();
    layer.build([null, 3]);
    expect(layer.weights).toHaveLength(1);
    expect(layer.trainableWeights).toHaveLength(1);
    const table = layer.getWeights()[0]!;
    expect(layer.weights[0]!.originalName).toBe('embeddings');
    expect(table.shape).toEqual([50, 4]);
    expect(table.dtype).toBe('float32');
    const v = table.dataSync();
    expect(v.every((x) => x >= -0.05 && x <= 0.05)).toBe(true);
    expect(new Set(v).size).toBeGreaterThan(100);
  });

  it('the config has tfjs Embedding’s keys and serialises initializer/regularizer/constraint as it does', () => {
    const weightArgs: Pick<
      EmbeddingBagLayerArgs,
      'embeddingsInitializer' | 'embeddingsRegularizer' | 'embeddingsConstraint'
    >[] = [
      {},
      {
        embeddingsInitializer: 'glorotUniform',
        embeddingsRegularizer: 'l1l2',
        embeddingsConstraint: 'nonNeg',
      },
      { embeddingsInitializer: 'zeros', embeddingsConstraint: 'unitNorm' },
      {
        embeddingsInitializer: initializers.randomNormal({ mean: 1, stddev: 2, seed: 3 }),
        embeddingsRegularizer: regularizers.l2({ l2: 0.25 }),
        embeddingsConstraint: constraints.maxNorm({ maxValue: 3, axis: 1 }),
      },
      {
        // The serialized form a saved model carries.
        embeddingsInitializer: {
          className: 'TruncatedNormal',
          config: { mean: 0, stddev: 0.5, seed: 7 },
        },
        embeddingsRegularizer: { className: 'L1L2', config: { l1: 0.5, l2: 0 } },
        embeddingsConstraint: { className: 'MinMaxNorm', config: { minValue: 1, maxValue: 2 } },
      },
    ];
    for (const args of weightArgs) {
      const config = embeddingBagLayer({
        inputDim: 5,
        outputDim: 2,
        name: 'bag',
        ...args,
      }).getConfig();
      const stock = layers
        .embedding({ inputDim: 5, outputDim: 2, name: 'emb', ...args } as never)
        .getConfig();
      for (const key of [
        'embeddingsInitializer',
        'embeddingsRegularizer',
        'embeddingsConstraint',
      ]) {
        expect(config[key]).toEqual(stock[key]);
      }
      expect(config).toMatchObject({
        inputDim: 5,
        outputDim: 2,
        mode: 'mean',
        paddingId: null,
        name: 'bag',
        trainable: true,
        batchInputShape: [null, null],
      });
    }
  });

  it('getConfig -> fromConfig rebuilds the same layer (and an equal config)', () => {
    const layer = embeddingBagLayer({
      inputDim: 7,
      outputDim: 3,
      mode: 'max',
      paddingId: -2,
      inputShape: [5],
      embeddingsInitializer: initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }),
      embeddingsRegularizer: regularizers.l1l2({ l1: 0.1, l2: 0.2 }),
      embeddingsConstraint: constraints.nonNeg(),
      name: 'genres',
    });
    const config = layer.getConfig();
    expect(config).toEqual({
      inputDim: 7,
      outputDim: 3,
      mode: 'max',
      paddingId: -2,
      embeddingsInitializer: {
        className: 'RandomUniform',
        config: { minval: -1, maxval: 1, seed: 4 },
      },
      embeddingsRegularizer: { className: 'L1L2', config: { l1: 0.1, l2: 0.2 } },
      embeddingsConstraint: { className: 'NonNeg', config: {} },
      name: 'genres',
      trainable: true,
      batchInputShape: [null, 5],
      dtype: 'float32',
    });
    const rebuilt = EmbeddingBag.fromConfig(EmbeddingBag, JSON.parse(JSON.stringify(config)));
    expect(rebuilt).toBeInstanceOf(EmbeddingBag);
    expect(rebuilt.getConfig()).toEqual(config);
  });

  it('rejects bad arguments with messages that name them', () => {
    const bad: [Partial<EmbeddingBagLayerArgs> & Record<string, unknown>, RegExp][] = [
      [{ inputDim: 0 }, /inputDim must be a positive integer, got 0/],
      [{ inputDim: 2.5 }, /inputDim must be a positive integer, got 2.5/],
      [{ outputDim: -1 }, /outputDim must be a positive integer, got -1/],
      [{ mode: 'min' as never }, /mode must be 'sum', 'mean' or 'max', got "min"/],
      [{ paddingId: 4 }, /paddingId must be an integer in \[-4, 4\) \(inputDim 4\), got 4/],
      [{ paddingId: -5 }, /paddingId must be an integer in \[-4, 4\)/],
      [{ paddingId: 0.5 }, /paddingId must be an integer/],
      [{ activityRegularizer: 'l2' }, /activityRegularizer is not supported/],
      [{ embeddingsInitializer: 'nope' }, /unknown initializer "nope" for embeddingsInitializer/],
      [{ embeddingsRegularizer: 'nonNeg' }, /unknown regularizer "nonNeg"/],
      [{ embeddingsConstraint: 42 as never }, /embeddingsConstraint must be a constraint/],
    ];
    for (const [args, message] of bad) {
      expect(() => embeddingBagLayer({ inputDim: 4, outputDim: 2, ...args })).toThrow(message);
    }
    expect(() => new EmbeddingBag(undefined as never)).toThrow(/expected an object/);
  });

  it('output shape [batch, outputDim]; ids must be 2-D', () => {
    const layer = embeddingBagLayer({ inputDim: 10, outputDim: 6 });
    expect(layer.computeOutputShape([null, 7])).toEqual([null, 6]);
    expect(layer.computeOutputShape([[3, 2]])).toEqual([3, 6]);
    expect(() => layer.computeOutputShape([null, 2, 3])).toThrow(
      /expects ids of shape \[batch, bagLen\], got \[null, 2, 3\]/,
    );
    const out = layer.apply(layers.input({ shape: [9] })) as SymbolicTensor;
    expect(out.shape).toEqual([null, 6]);
    expect(() =>
      embeddingBagLayer({ inputDim: 10, outputDim: 6 }).apply(layers.input({ shape: [2, 3] })),
    ).toThrow(/expected ndim=2, found ndim=3/);
  });

  it('produces no mask, and refuses one', () => {
    const layer = embeddingBagLayer({ inputDim: 4, outputDim: 2 });
    const x = tensor2d([[1, 2]]);
    const mask = tensor2d([[1, 0]], undefined, 'bool');
    expect(layer.computeMask(x)).toBeNull();
    expect(() => layer.computeMask(x, mask)).toThrow(
      /takes no mask; mark padding ids with paddingId/,
    );
    x.dispose();
    mask.dispose();
  });

  it('starts a Sequential model without an input shape (any bag length), as tfjs’s Embedding', async () => {
    const bag = embeddingBagLayer({ inputDim: 4, outputDim: 2, mode: 'sum', paddingId: 0 });
    const model = sequential({ layers: [bag] });
    bag.setWeights([
      tensor2d([
        [9, 9],
        [1, 2],
        [10, 20],
        [100, 200],
      ]),
    ]);
    expect(await values(model.predict(tensor2d([[1, 2, 0]])) as Tensor)).toEqual([[11, 22]]);
    expect(await values(model.predict(tensor2d([[3, 1, 1, 0, 0, 2]])) as Tensor)).toEqual([
      [112, 224],
    ]);
    model.dispose();
  });

  it('takes float32 ids (a default Input) and int32 ids (Input dtype int32) alike', async () => {
    const table = tensor2d([
      [0, 0],
      [1, 2],
      [3, 5],
    ]);
    const ids = [
      [1, 2, 2],
      [0, 0, 0],
    ];
    const results: number[][][] = [];
    for (const dtype of ['float32', 'int32'] as const) {
      const input = layers.input({ shape: [3], dtype });
      const bag = embeddingBagLayer({ inputDim: 3, outputDim: 2, paddingId: 0 });
      const model = functionalModel({
        inputs: input,
        outputs: bag.apply(input) as SymbolicTensor,
      });
      bag.setWeights([table]);
      const x = tensor2d(ids, undefined, dtype);
      results.push(await values(model.predict(x) as Tensor));
      x.dispose();
      model.dispose();
    }
    // (1 + 3 + 3) / 3, (2 + 5 + 5) / 3; the all-padding bag gives zeros.
    for (const out of results) {
      expect(out[0]![0]).toBeCloseTo(7 / 3, 6);
      expect(out[0]![1]).toBeCloseTo(4, 6);
      expect(out[1]).toEqual([0, 0]);
    }
    expect(results[1]).toEqual(results[0]);
    table.dispose();
  });

  it('an out-of-range id is an error naming it (cpu reads the ids)', () => {
    const layer = embeddingBagLayer({ inputDim: 3, outputDim: 2 });
    const x = tensor2d([[1, 7]]);
    const before = memory().numTensors;
    expect(() => layer.apply(x)).toThrow(/ids\[1\] = 7 is outside \[0, 3\)/);
    // The table was built on the first call; nothing else stays behind.
    expect(memory().numTensors).toBe(before + 1);
    x.dispose();
    layer.dispose();
  });

  describe('regularizer', () => {
    const TABLE = [
      [1, -2],
      [3, 0.5],
      [-1, 1],
    ];
    const SQUARES = 1 + 4 + 9 + 0.25 + 1 + 1;

    it('adds l2 * sum(w^2) to the layer’s losses', async () => {
      const layer = embeddingBagLayer({
        inputDim: 3,
        outputDim: 2,
        embeddingsRegularizer: regularizers.l2({ l2: 0.1 }),
      });
      (layer.apply(tensor2d([[0, 1]])) as Tensor).dispose();
      layer.setWeights([tensor2d(TABLE)]);
      expect(layer.losses).toHaveLength(1);
      const [penalty] = layer.calculateLosses();
      expect((await penalty!.data())[0]).toBeCloseTo(0.1 * SQUARES, 5);
      penalty!.dispose();
      layer.dispose();
    });

    it('is part of the loss model.fit minimises (reported loss = mse + penalty)', async () => {
      const bag = embeddingBagLayer({
        inputDim: 3,
        outputDim: 2,
        mode: 'sum',
        inputShape: [2],
        embeddingsRegularizer: 'l1l2', // tfjs's default L1L2: l1 0.01, l2 0.01
      });
      const model = sequential({ layers: [bag] });
      bag.setWeights([tensor2d(TABLE)]);
      model.compile({ optimizer: train.sgd(0), loss: 'meanSquaredError' });
      const x = tensor2d([[0, 1]]);
      const y = tensor2d([[0, 0]]);
      const history = await model.fit(x, y, { epochs: 1, batchSize: 1, verbose: 0 });
      // Bag [0, 1] sums to [4, -1.5]: mse (16 + 2.25) / 2.
      const mse = (16 + 2.25) / 2;
      const abs = 1 + 2 + 3 + 0.5 + 1 + 1;
      expect(history.history['loss']![0]).toBeCloseTo(mse + 0.01 * abs + 0.01 * SQUARES, 4);
      x.dispose();
      y.dispose();
      model.dispose();
    });
  });

  describe('constraint', () => {
    it('applies where tfjs-layers applies weight constraints (every write: setWeights, loading)', async () => {
      const layer = embeddingBagLayer({
        inputDim: 2,
        outputDim: 2,
        embeddingsConstraint: 'nonNeg',
      });
      (layer.apply(tensor2d([[0]])) as Tensor).dispose();
      layer.setWeights([
        tensor2d([
          [-1, 2],
          [3, -4],
        ]),
      ]);
      // (getWeights returns the variables themselves: read, never dispose.)
      expect(await layer.getWeights()[0]!.array()).toEqual([
        [0, 2],
        [3, 0],
      ]);
      layer.dispose();
    });

    it('trains exactly like tfjs’s Embedding with the same constraint (one-id bags, mode sum = a lookup)', async () => {
      // tfjs-layers 4.22 applies weight constraints on writes, not after optimizer steps (for
      // every layer: tensorflow/tfjs#3345); EmbeddingBag's table must behave as Embedding's does.
      const tables: number[][][] = [];
      for (const kind of ['bag', 'stock'] as const) {
        const args = {
          inputDim: 4,
          outputDim: 2,
          inputShape: [1],
          embeddingsInitializer: initializers.randomUniform({ minval: -1, maxval: 1, seed: 5 }),
          embeddingsConstraint: constraints.maxNorm({ maxValue: 0.5, axis: 1 }),
        };
        const model = sequential({
          layers:
            kind === 'bag'
              ? [embeddingBagLayer({ ...args, mode: 'sum' })]
              : [layers.embedding(args), layers.flatten()],
        });
        model.compile({ optimizer: train.sgd(0.1), loss: 'meanSquaredError' });
        const x = tensor2d([[0], [2], [3]]);
        const y = tensor2d([
          [1, 1],
          [-1, 0],
          [0, 2],
        ]);
        await model.fit(x, y, { epochs: 3, batchSize: 3, verbose: 0 });
        tables.push((await model.getWeights()[0]!.array()) as number[][]);
        x.dispose();
        y.dispose();
        model.dispose();
      }
      tables[0]!.flat().forEach((v, i) => {
        expect(v).toBeCloseTo(tables[1]!.flat()[i]!, 6);
      });
      // Row 1 got no id: untouched by training, as in Embedding.
      expect(tables[0]![1]).toEqual(tables[1]![1]);
    });
  });
});
