/**
 * Backend-agnostic scenarios shared by the cpu, wasm (Node) and webgl (browser) test files. They
 * build models and return plain numbers; each test file asserts. Expected values are hand-computed
 * literals (in the test files) or come from the float64 `referenceMaskedReduce` of @masked-ops/core.
 */
import { referenceMaskedReduce } from '@masked-ops/core';
import { compareValues, seededRandom } from '@masked-ops/core/testing';
import {
  grad,
  memory,
  mul,
  sum,
  type Tensor,
  tensor,
  tensor2d,
  tensor3d,
  train,
  type Variable,
  variableGrads,
} from '@tensorflow/tfjs-core';
import {
  model as functionalModel,
  initializers,
  type LayersModel,
  layers,
  type SymbolicTensor,
  sequential,
} from '@tensorflow/tfjs-layers';
import { embeddingBagLayer, globalAveragePooling1d, globalMaxPooling1d } from '../../src/index.js';

/** Which reduction the pooling layer applies: GlobalAveragePooling1D or GlobalMaxPooling1D. */
export type PoolReducer = 'mean' | 'max';

/** This package's mask-aware pooling layer (`'masked'`) or tfjs-layers' own (`'stock'`). */
function poolingLayer(pooling: 'masked' | 'stock', reducer: PoolReducer) {
  if (reducer === 'mean') {
    return pooling === 'masked' ? globalAveragePooling1d() : layers.globalAveragePooling1d({});
  }
  return pooling === 'masked' ? globalMaxPooling1d() : layers.globalMaxPooling1d({});
}

// ---------------------------------------------------------------------------------------------
// The issue's example: Embedding(maskZero) -> GlobalAveragePooling1D (or GlobalMaxPooling1D).

/** Embedding rows: 0 (padding) -> [0, 0], 1 -> [1, 1], 2 -> [3, 3]. */
export const ISSUE_EMBEDDINGS = [
  [0, 0],
  [1, 1],
  [3, 3],
];

/**
 * Embedding rows for max pooling: 0 (padding) -> [2, 2] (a trained padding vector need not be 0,
 * and here it would win the max wherever it is counted), 1 -> [1, -1], 2 -> [-3, 3].
 */
export const MAX_EMBEDDINGS = [
  [2, 2],
  [1, -1],
  [-3, 3],
];

/** `Embedding({inputDim: 3, outputDim: 2, maskZero: true})` -> pooling, with explicit weights. */
export function embeddingPoolModel(
  pooling: 'masked' | 'stock',
  embeddings: number[][] = ISSUE_EMBEDDINGS,
  reducer: PoolReducer = 'mean',
): LayersModel {
  const model = sequential();
  model.add(
    layers.embedding({
      inputDim: embeddings.length,
      outputDim: 2,
      maskZero: true,
      inputShape: [4],
    }),
  );
  model.add(poolingLayer(pooling, reducer));
  model.layers[0]!.setWeights([tensor2d(embeddings)]);
  return model;
}

export async function predictRows(model: LayersModel, rows: number[][]): Promise<number[][]> {
  const x = tensor2d(rows);
  const y = model.predict(x) as Tensor;
  const out = (await y.array()) as number[][];
  x.dispose();
  y.dispose();
  return out;
}

/**
 * Reference values for `embeddingPoolModel(..., reducer)` on `rows`: the float64
 * `referenceMaskedReduce` of the embedded rows, masked where the token is 0 (`'masked'`) or not
 * at all (`'stock'`: tfjs's own layer pools the padding's vector in).
 */
export function embeddingPoolReference(
  reducer: PoolReducer,
  embeddings: number[][],
  rows: number[][],
  pooling: 'masked' | 'stock',
): number[][] {
  const width = embeddings[0]!.length;
  const xs = rows.flatMap((row) => row.flatMap((id) => embeddings[id]!));
  const mask = rows.flat().map((id) => (pooling === 'stock' || id !== 0 ? 1 : 0));
  const shape = [rows.length, rows[0]!.length];
  const ref = referenceMaskedReduce(reducer, xs, [...shape, width], mask, shape, [1], false);
  return rows.map((_, b) => Array.from(ref.values.slice(b * width, (b + 1) * width)));
}

// ---------------------------------------------------------------------------------------------
// Gradients of GlobalMaxPooling1D: only the arg-max real steps receive any.

/**
 * x [2, 4, 2] and its mask; the padding steps hold 9, which would win every max if counted. Row 0:
 * feature 0's max 3 at step 1, feature 1 ties 5 at steps 0 and 1. Row 1: feature 0 ties 2 at
 * steps 0 and 1; feature 1's max 0 at step 3 (step 2, the padding, holds 9).
 */
export const GRAD_X = [
  [
    [1, 5],
    [3, 5],
    [9, 9],
    [9, 9],
  ],
  [
    [2, -1],
    [2, -4],
    [9, 9],
    [-7, 0],
  ],
];
export const GRAD_MASK = [
  [1, 1, 0, 0],
  [1, 1, 0, 1],
];
/** d sum(maxpool(x)) / dx by hand: 1 at a unique arg-max, 1/2 at each of two ties, 0 elsewhere. */
export const GRAD_EXPECTED = [
  [
    [0, 0.5],
    [1, 0.5],
    [0, 0],
    [0, 0],
  ],
  [
    [0.5, 0],
    [0.5, 0],
    [0, 0],
    [0, 1],
  ],
];

/** `{y, dx}` of `sum(globalMaxPooling1d().apply(x, {mask}))` for GRAD_X, GRAD_MASK. */
export async function maxPoolGradScenario(): Promise<{ y: number[][]; dx: number[][][] }> {
  const layer = globalMaxPooling1d();
  const x = tensor3d(GRAD_X);
  const mask = tensor2d(GRAD_MASK, undefined, 'bool');
  const y = layer.apply(x, { mask }) as Tensor;
  const dx = grad((xi: Tensor) => sum(layer.apply(xi, { mask }) as Tensor))(x);
  const out = { y: (await y.array()) as number[][], dx: (await dx.array()) as number[][][] };
  for (const t of [x, mask, y, dx]) t.dispose();
  return out;
}

/** Token rows for the embedding gradient; row 1 has token 2 twice (a tie), row 2 is all padding. */
export const EMBEDDING_GRAD_ROWS = [
  [1, 2, 0, 0],
  [2, 1, 2, 0],
  [0, 0, 0, 0],
];
/** Per-(row, feature) weights of the loss `sum(pooled * w)`, distinct powers of 10. */
const EMBEDDING_GRAD_W = [
  [1, 10],
  [100, 1000],
  [1e4, 1e5],
];
/*
 * d loss / d embeddings, by hand, with MAX_EMBEDDINGS (0 -> [2, 2], 1 -> [1, -1], 2 -> [-3, 3]).
 * Row 0: feature 0's real max is token 1 (1) -> +1 to e1[0]; feature 1's is token 2 (3) -> +10 to
 * e2[1]. Row 1: feature 0: token 1 -> +100 to e1[0]; feature 1: token 2 twice, tied -> 500 + 500
 * to e2[1]. Row 2 (all padding) pools to the constant 0: nothing. The padding row [2, 2], which
 * would win every max but row 1's feature 1, gets nothing.
 */
export const EMBEDDING_GRAD_EXPECTED = [
  [0, 0],
  [101, 0],
  [0, 1010],
];

/** d sum(pooled * w) / d embeddings through Embedding(maskZero) -> GlobalMaxPooling1D. */
export async function embeddingMaxGradScenario(): Promise<number[][]> {
  const model = embeddingPoolModel('masked', MAX_EMBEDDINGS, 'max');
  const embeddings = model.layers[0]!.trainableWeights[0]!.read() as Variable;
  const x = tensor2d(EMBEDDING_GRAD_ROWS);
  const w = tensor2d(EMBEDDING_GRAD_W);
  const { value, grads } = variableGrads(
    () => sum(mul(model.apply(x, { training: true }) as Tensor, w)),
    [embeddings],
  );
  const g = grads[embeddings.name]!;
  const out = (await g.array()) as number[][];
  for (const t of [x, w, value, g]) t.dispose();
  model.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Masking -> LSTM(returnSequences) -> GlobalAveragePooling1D, against the float64 reference.

/** Which timesteps of each sequence are real (1) or padding (0). Row 3 is all padding. */
export const LSTM_STEP_MASK = [
  [1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1],
  [1, 0, 1, 1, 0],
  [0, 0, 0, 0, 0],
  [1, 0, 0, 0, 0],
];
const FEATURES = 3;

export interface LstmComparison {
  /** Largest |pooled - reference| over all outputs, and the bound each must meet. */
  worst: string | null;
  pooled: number[][];
  reference: number[];
  /** The plain (padding-included) mean of the LSTM outputs, to show the mask matters. */
  plainMean: number[];
}

export async function lstmScenario(): Promise<LstmComparison> {
  const [batch, steps] = [LSTM_STEP_MASK.length, LSTM_STEP_MASK[0]!.length];
  const rand = seededRandom(7);
  const xs = new Float32Array(batch * steps * FEATURES);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      for (let f = 0; f < FEATURES; f++) {
        // Real steps: values in [0.5, 2) (never 0, so Masking keeps them); padding: exactly 0.
        xs[(b * steps + t) * FEATURES + f] = LSTM_STEP_MASK[b]![t] ? 0.5 + 1.5 * rand() : 0;
      }
    }
  }
  const input = layers.input({ shape: [steps, FEATURES] });
  const masked = layers.masking({ maskValue: 0 }).apply(input);
  const seq = layers
    .lstm({
      units: 4,
      returnSequences: true,
      kernelInitializer: initializers.glorotUniform({ seed: 1 }),
      recurrentInitializer: initializers.glorotUniform({ seed: 2 }),
      biasInitializer: initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }),
    })
    .apply(masked);
  const pooled = globalAveragePooling1d().apply(seq);
  const model = functionalModel({
    inputs: input,
    outputs: [seq, pooled] as SymbolicTensor[],
  });
  const x = tensor(xs, [batch, steps, FEATURES]);
  const [seqOut, pooledOut] = model.predict(x) as Tensor[];
  const seqValues = await seqOut!.data();
  const pooledValues = (await pooledOut!.array()) as number[][];
  x.dispose();
  seqOut!.dispose();
  pooledOut!.dispose();
  model.dispose();

  const units = 4;
  const ref = referenceMaskedReduce(
    'mean',
    seqValues,
    [batch, steps, units],
    LSTM_STEP_MASK.flat(),
    [batch, steps],
    [1],
    false,
  );
  const plain = referenceMaskedReduce(
    'mean',
    seqValues,
    [batch, steps, units],
    new Array<number>(batch * steps).fill(1),
    [batch, steps],
    [1],
    false,
  );
  const worst = compareValues(pooledValues.flat(), ref, 'float32')[0] ?? null;
  return {
    worst,
    pooled: pooledValues,
    reference: Array.from(ref.values),
    plainMean: Array.from(plain.values),
  };
}

// ---------------------------------------------------------------------------------------------
// Training on padded sequences.

/** Per-token target contribution: the task is "mean of SCORE over the real tokens". */
const SCORE = [0, 1, -1, 0.5, -0.5, 0.25, 0.75, -0.75, 1.5, -1.25];
export const FIT_SAMPLES = 64;
export const FIT_STEPS = 8;
export const FIT_BATCH = 16;

/**
 * 64 sequences of 8 tokens from 1..9, right-padded with 0 to random lengths 1..8; every 8th row
 * (0, 8, 16, ...) is all padding (target 0), so each batch of 16 holds two all-padding rows. The
 * target is the mean (or max) of SCORE over the real tokens: exactly representable by
 * Embedding -> masked mean (max) -> Dense, and not by a mean that counts the padding.
 */
export function paddedSequenceTask(reducer: PoolReducer = 'mean'): {
  tokens: number[][];
  targets: number[];
} {
  const rand = seededRandom(2024);
  const tokens: number[][] = [];
  const targets: number[] = [];
  for (let i = 0; i < FIT_SAMPLES; i++) {
    const length = i % 8 === 0 ? 0 : 1 + Math.floor(rand() * FIT_STEPS);
    const row = new Array<number>(FIT_STEPS).fill(0);
    let total = 0;
    let best = Number.NEGATIVE_INFINITY;
    for (let t = 0; t < length; t++) {
      row[t] = 1 + Math.floor(rand() * 9);
      total += SCORE[row[t]!]!;
      best = Math.max(best, SCORE[row[t]!]!);
    }
    tokens.push(row);
    targets.push(length === 0 ? 0 : reducer === 'mean' ? total / length : best);
  }
  return { tokens, targets };
}

/**
 * Three models for the same task. `'embedding'`: Embedding(maskZero) -> pooling -> Dense, the Keras
 * pattern. `'onehot'`: one-hot float tokens (padding = all-zero vectors) -> Masking -> Dense
 * (applied per step) -> pooling -> Dense, the same function without a Gather: tfjs-backend-wasm
 * 4.22 has no `UnsortedSegmentSum` kernel, which the gradient of Gather (i.e. of Embedding) needs,
 * so an Embedding cannot be trained on stock wasm. `'bag'`: this package's EmbeddingBag (mode =
 * the reducer, paddingId 0) -> Dense, the pooling inside the bag (its gradient is core's own
 * kernels or scatter-add, never UnsortedSegmentSum).
 */
export type FitKind = 'embedding' | 'onehot' | 'bag';

export function fitModel(
  kind: FitKind,
  pooling: 'masked' | 'stock' = 'masked',
  reducer: PoolReducer = 'mean',
): LayersModel {
  const model = sequential();
  if (kind === 'bag') {
    model.add(
      embeddingBagLayer({
        inputDim: 10,
        outputDim: 4,
        mode: reducer,
        paddingId: 0,
        inputShape: [FIT_STEPS],
        embeddingsInitializer: initializers.randomUniform({
          minval: -0.05,
          maxval: 0.05,
          seed: 11,
        }),
      }),
    );
  } else if (kind === 'embedding') {
    model.add(
      layers.embedding({
        inputDim: 10,
        outputDim: 4,
        maskZero: true,
        inputShape: [FIT_STEPS],
        embeddingsInitializer: initializers.randomUniform({
          minval: -0.05,
          maxval: 0.05,
          seed: 11,
        }),
      }),
    );
  } else {
    model.add(layers.masking({ maskValue: 0, inputShape: [FIT_STEPS, 10] }));
    model.add(
      layers.dense({ units: 4, kernelInitializer: initializers.glorotUniform({ seed: 11 }) }),
    );
  }
  if (kind !== 'bag') model.add(poolingLayer(pooling, reducer));
  model.add(
    layers.dense({ units: 1, kernelInitializer: initializers.glorotUniform({ seed: 12 }) }),
  );
  model.compile({ optimizer: train.adam(0.05), loss: 'meanSquaredError' });
  return model;
}

/** Token ids as the model's input: ids, or one-hot vectors with padding (0) as all zeros. */
function fitInput(kind: FitKind, tokens: number[][]): Tensor {
  // Float32 ids, as a model's default Input takes them: the embedding layers cast to int32.
  if (kind !== 'onehot') return tensor2d(tokens);
  const values = new Float32Array(FIT_SAMPLES * FIT_STEPS * 10);
  tokens.forEach((row, b) => {
    row.forEach((id, t) => {
      if (id !== 0) values[(b * FIT_STEPS + t) * 10 + id] = 1;
    });
  });
  return tensor(values, [FIT_SAMPLES, FIT_STEPS, 10]);
}

export interface FitResult {
  initialLoss: number;
  finalLoss: number;
  epochLosses: number[];
  /** Every weight value finite after training. */
  weightsFinite: boolean;
  /** numTensors before/after a second `fit` call (after a warm-up one created optimizer state). */
  tensorsBeforeFit: number;
  tensorsAfterFit: number;
}

export const FIT_EPOCHS = 40;

async function evaluateLoss(model: LayersModel, x: Tensor, y: Tensor): Promise<number> {
  const loss = model.evaluate(x, y, { batchSize: FIT_SAMPLES }) as Tensor;
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

export async function fitScenario(
  kind: FitKind,
  pooling: 'masked' | 'stock' = 'masked',
  reducer: PoolReducer = 'mean',
): Promise<FitResult> {
  const { tokens, targets } = paddedSequenceTask(reducer);
  const model = fitModel(kind, pooling, reducer);
  const x = fitInput(kind, tokens);
  const y = tensor2d(targets, [FIT_SAMPLES, 1]);
  const initialLoss = await evaluateLoss(model, x, y);
  const history = await model.fit(x, y, {
    epochs: FIT_EPOCHS - 2,
    batchSize: FIT_BATCH,
    shuffle: false,
    verbose: 0,
  });
  const tensorsBeforeFit = memory().numTensors;
  const last = await model.fit(x, y, {
    epochs: 2,
    batchSize: FIT_BATCH,
    shuffle: false,
    verbose: 0,
  });
  const tensorsAfterFit = memory().numTensors;
  const finalLoss = await evaluateLoss(model, x, y);
  let weightsFinite = true;
  for (const w of model.getWeights()) {
    for (const v of await w.data()) if (!Number.isFinite(v)) weightsFinite = false;
  }
  const epochLosses = [...history.history['loss']!, ...last.history['loss']!].map(Number);
  x.dispose();
  y.dispose();
  model.dispose();
  return { initialLoss, finalLoss, epochLosses, weightsFinite, tensorsBeforeFit, tensorsAfterFit };
}

/** The convergence bar every backend must clear (measured factors are in the README). */
export const FIT_MIN_FACTOR = 1000;

/** numTensors around a `predict` whose result is disposed. */
export async function predictLeak(model: LayersModel, rows: number[][]): Promise<[number, number]> {
  const x = tensor2d(rows);
  const before = memory().numTensors;
  const y = model.predict(x) as Tensor;
  await y.data();
  y.dispose();
  const after = memory().numTensors;
  x.dispose();
  return [before, after];
}
