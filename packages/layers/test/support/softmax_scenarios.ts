/**
 * Backend-agnostic scenarios of the mask-aware Softmax layer, shared by the cpu, wasm (Node) and
 * webgl (browser) suites: they build models and return plain numbers; `defineSoftmaxLayerSuite`
 * asserts. Expected values come from the float64 `referenceMaskedSoftmax` of @masked-ops/core or
 * from tfjs's own Softmax layer (the unmasked case must be exactly tfjs's).
 */
import { referenceMaskedSoftmax } from '@masked-ops/core';
import { compareValues, seededRandom } from '@masked-ops/core/testing';
import {
  getBackend,
  memory,
  type Tensor,
  tensor,
  tensor1d,
  tensor2d,
  tensor3d,
  train,
} from '@tensorflow/tfjs-core';
import {
  model as functionalModel,
  type LayersModel,
  layers,
  type SymbolicTensor,
  sequential,
} from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { softmaxLayer } from '../../src/index.js';

const flat = (rows: number[][]): number[] => rows.flat();

// ---------------------------------------------------------------------------------------------
// Embedding(maskZero) -> Dense(3) -> Softmax: per-token class probabilities.

/** Embedding rows: 0 (padding, poisoned with NaN: it must never reach a valid output) .. 3. */
const TOKEN_EMBEDDINGS = [
  [Number.NaN, Number.NaN],
  [1, 0],
  [0, 1],
  [2, -1],
];
const TOKEN_KERNEL = [
  [1, -1, 0.5],
  [0.25, 2, -3],
];
const TOKEN_BIAS = [0, 0.5, -0.5];
/** Row 2 is all padding. */
export const TOKEN_ROWS = [
  [1, 2, 0, 0],
  [3, 3, 1, 2],
  [0, 0, 0, 0],
  [2, 0, 3, 0],
];

function tokenModel(): LayersModel {
  const model = sequential();
  model.add(layers.embedding({ inputDim: 4, outputDim: 2, maskZero: true, inputShape: [4] }));
  model.add(layers.dense({ units: 3 }));
  model.add(softmaxLayer());
  model.layers[0]!.setWeights([tensor2d(TOKEN_EMBEDDINGS)]);
  model.layers[1]!.setWeights([tensor2d(TOKEN_KERNEL), tensor1d(TOKEN_BIAS)]);
  return model;
}

/** The logits of each token, in float64 (padding tokens give NaN, as in the model). */
function tokenLogits(rows: number[][]): number[] {
  return rows.flatMap((row) =>
    row.flatMap((id) =>
      [0, 1, 2].map((c) => {
        const [a, b] = TOKEN_EMBEDDINGS[id]!;
        return a! * TOKEN_KERNEL[0]![c]! + b! * TOKEN_KERNEL[1]![c]! + TOKEN_BIAS[c]!;
      }),
    ),
  );
}

export interface TokenResult {
  /** [batch][step][class] */
  output: number[][][];
  problems: string[];
  leaked: number;
}

/** predict on TOKEN_ROWS against referenceMaskedSoftmax with the step mask [batch, steps, 1]. */
export async function tokenScenario(): Promise<TokenResult> {
  const model = tokenModel();
  const x = tensor2d(TOKEN_ROWS);
  const before = memory().numTensors;
  const y = model.predict(x) as Tensor;
  const output = (await y.array()) as number[][][];
  y.dispose();
  const leaked = memory().numTensors - before;
  x.dispose();
  model.dispose();
  const [batch, steps] = [TOKEN_ROWS.length, TOKEN_ROWS[0]!.length];
  const ref = referenceMaskedSoftmax({
    logits: tokenLogits(TOKEN_ROWS),
    logitsShape: [batch, steps, 3],
    mask: flat(TOKEN_ROWS).map((id) => (id === 0 ? 0 : 1)),
    maskShape: [batch, steps, 1],
    axis: 2,
    log: false,
  });
  return { output, problems: compareValues(output.flat(2), ref, 'float32'), leaked };
}

// ---------------------------------------------------------------------------------------------
// Attention pooling: Embedding(maskZero, outputDim 1) -> Softmax(axis 1): weights over the steps.

/** Scores per token; the padding's (token 0) is +Inf, which would take every row it reached. */
const SCORES = [[Number.POSITIVE_INFINITY], [0.5], [-1], [3], [1e30]];
export const POOL_ROWS = [
  [1, 2, 3, 0, 0],
  [0, 0, 0, 0, 0],
  [4, 2, 0, 4, 3],
  [3, 0, 0, 0, 0],
];

/** Weights [batch, steps, 1] vs referenceMaskedSoftmax over axis 1 with the mask [batch, steps]. */
export async function poolScenario(): Promise<{ output: number[][]; problems: string[] }> {
  const model = sequential();
  model.add(layers.embedding({ inputDim: 5, outputDim: 1, maskZero: true, inputShape: [5] }));
  model.add(softmaxLayer({ axis: 1 }));
  model.layers[0]!.setWeights([tensor2d(SCORES)]);
  const x = tensor2d(POOL_ROWS);
  const y = model.predict(x) as Tensor;
  const output = ((await y.array()) as number[][][]).map((row) => row.map((v) => v[0]!));
  x.dispose();
  y.dispose();
  model.dispose();
  const ref = referenceMaskedSoftmax({
    logits: flat(POOL_ROWS).map((id) => SCORES[id]![0]!),
    logitsShape: [4, 5, 1],
    mask: flat(POOL_ROWS).map((id) => (id === 0 ? 0 : 1)),
    maskShape: [4, 5, 1],
    axis: 1,
    log: false,
  });
  return { output, problems: compareValues(output.flat(), ref, 'float32') };
}

// ---------------------------------------------------------------------------------------------
// An explicit key-padding mask input: logits [batch, queries, keys], mask [batch, 1, keys].

/** Keys 2 and 3 of batch 0 are padding (and hold NaN / +Inf logits), batch 1 has no valid key. */
export const KEY_MASK = [[[1, 1, 0, 0]], [[0, 0, 0, 0]]];
export const KEY_LOGITS = [
  [
    [1, 2, Number.NaN, 7],
    [-3, 0.5, Number.POSITIVE_INFINITY, 0],
    [1e30, -1e30, 0, 0],
  ],
  [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [0, 0, 0, 0],
  ],
];

export async function keyMaskScenario(): Promise<{ output: number[][][]; problems: string[] }> {
  const logitsIn = layers.input({ shape: [3, 4] });
  const maskIn = layers.input({ shape: [1, 4] });
  const out = softmaxLayer().apply([logitsIn, maskIn]) as SymbolicTensor;
  const model = functionalModel({ inputs: [logitsIn, maskIn], outputs: out });
  const inputs = [tensor3d(KEY_LOGITS), tensor3d(KEY_MASK)];
  const y = model.predict(inputs) as Tensor;
  const output = (await y.array()) as number[][][];
  for (const t of [...inputs, y]) t.dispose();
  model.dispose();
  const ref = referenceMaskedSoftmax({
    logits: KEY_LOGITS.flat(2),
    logitsShape: [2, 3, 4],
    mask: KEY_MASK.flat(2),
    maskShape: [2, 1, 4],
    axis: 2,
    log: false,
  });
  return { output, problems: compareValues(output.flat(2), ref, 'float32') };
}

// ---------------------------------------------------------------------------------------------
// No mask: exactly tfjs's Softmax layer.

export const UNMASKED_CASES: { label: string; shape: number[]; axis?: number | number[] }[] = [
  { label: 'rank 2, default axis', shape: [3, 7] },
  { label: 'rank 3, axis -1', shape: [2, 3, 5], axis: -1 },
  { label: 'rank 3, axis 2', shape: [2, 3, 5], axis: 2 },
  { label: 'rank 3, axes [1, 2]', shape: [2, 3, 5], axis: [1, 2] },
];

export async function unmaskedScenario(
  shape: number[],
  axis?: number | number[],
): Promise<{ ours: number[]; stock: number[] }> {
  const rand = seededRandom(shape.length * 31 + shape[1]!);
  const size = shape.reduce((p, d) => p * d, 1);
  const x = tensor(
    Array.from({ length: size }, () => 20 * rand() - 10),
    shape,
  );
  // tfjs's own layer: default axis 1 there, which for rank 2 is the last axis (our default -1).
  const stockLayer = layers.softmax(axis === undefined ? {} : { axis });
  const a = softmaxLayer(axis === undefined ? {} : { axis }).apply(x) as Tensor;
  const b = stockLayer.apply(x) as Tensor;
  const out = { ours: Array.from(await a.data()), stock: Array.from(await b.data()) };
  for (const t of [x, a, b]) t.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training: per-token classification through Embedding(maskZero) -> Dense -> Softmax.

export const SOFTMAX_FIT_MIN_FACTOR = 1000;
const FIT_ROWS = 32;
const FIT_STEPS = 5;
/** Token t (1..6) belongs to class (t - 1) % 3. */
const classOf = (t: number) => (t - 1) % 3;

function fitTask(): { tokens: number[][]; targets: number[][][] } {
  const rand = seededRandom(99);
  const tokens: number[][] = [];
  const targets: number[][][] = [];
  for (let i = 0; i < FIT_ROWS; i++) {
    // Every 8th row is all padding; others are right-padded to a random length 1..5.
    const length = i % 8 === 0 ? 0 : 1 + Math.floor(rand() * FIT_STEPS);
    const row = Array.from({ length: FIT_STEPS }, (_, t) =>
      t < length ? 1 + Math.floor(rand() * 6) : 0,
    );
    tokens.push(row);
    // One-hot at real tokens; zeros at padding, which is exactly what the layer gives there, so
    // padding adds nothing to the (mean squared error) loss.
    targets.push(row.map((t) => [0, 1, 2].map((c) => (t !== 0 && classOf(t) === c ? 1 : 0))));
  }
  return { tokens, targets };
}

export interface SoftmaxFitResult {
  initialLoss: number;
  finalLoss: number;
  losses: number[];
  /** Largest output at a padding position after training (must be exactly 0). */
  paddingMax: number;
  /** Real tokens whose arg-max class is right, out of `realTokens`. */
  correct: number;
  realTokens: number;
  /** numTensors around a second `fit` call (the first one created the optimizer's state). */
  tensorsBefore: number;
  tensorsAfter: number;
}

export async function softmaxFitScenario(): Promise<SoftmaxFitResult> {
  const { tokens, targets } = fitTask();
  const model = sequential();
  model.add(
    layers.embedding({ inputDim: 7, outputDim: 4, maskZero: true, inputShape: [FIT_STEPS] }),
  );
  model.add(layers.dense({ units: 3, kernelInitializer: 'glorotUniform' }));
  model.add(softmaxLayer());
  model.compile({ optimizer: train.adam(0.05), loss: 'meanSquaredError' });
  const x = tensor2d(tokens);
  const y = tensor3d(targets);
  const lossOf = async () => {
    const l = model.evaluate(x, y) as Tensor;
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };
  const initialLoss = await lossOf();
  const options = { batchSize: 16, shuffle: false, verbose: 0 as const };
  // The first fit creates the optimizer's state; leaks are counted around the second.
  const first = await model.fit(x, y, { ...options, epochs: 23 });
  const tensorsBefore = memory().numTensors;
  const second = await model.fit(x, y, { ...options, epochs: 2 });
  const tensorsAfter = memory().numTensors;
  const finalLoss = await lossOf();
  const p = model.predict(x) as Tensor;
  const probs = (await p.array()) as number[][][];
  p.dispose();
  let paddingMax = 0;
  let correct = 0;
  let realTokens = 0;
  tokens.forEach((row, b) => {
    row.forEach((t, s) => {
      const v = probs[b]![s]!;
      if (t === 0) {
        for (const q of v) paddingMax = Math.max(paddingMax, Math.abs(q));
      } else {
        realTokens++;
        if (v.indexOf(Math.max(...v)) === classOf(t)) correct++;
      }
    });
  });
  for (const t of [x, y]) t.dispose();
  model.dispose();
  return {
    initialLoss,
    finalLoss,
    losses: [...first.history['loss'], ...second.history['loss']] as number[],
    paddingMax,
    correct,
    realTokens,
    tensorsBefore,
    tensorsAfter,
  };
}

// ---------------------------------------------------------------------------------------------

/** The Softmax layer's checks on the backend currently set (the caller's suite sets it). */
export function defineSoftmaxLayerSuite(onFit?: (factor: number) => void): void {
  describe('Softmax (mask-aware)', () => {
    it('Embedding(maskZero) -> Dense -> Softmax: padding steps give all-zero rows (NaN padding vectors never leak), real steps match the float64 reference', async () => {
      const { output, problems, leaked } = await tokenScenario();
      expect(problems).toEqual([]);
      expect(output[0]![2]).toEqual([0, 0, 0]);
      expect(output[0]![3]).toEqual([0, 0, 0]);
      expect(output[2]).toEqual([
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ]);
      expect(output[3]![1]).toEqual([0, 0, 0]);
      expect(leaked).toBe(0);
    });

    it('attention pooling, Softmax({axis: 1}) over the steps: 0 at padding steps (whose +Inf score never leaks), an all-padding row all 0, 1e30 scores without overflow', async () => {
      const { output, problems } = await poolScenario();
      expect(problems).toEqual([]);
      expect(output[1]).toEqual([0, 0, 0, 0, 0]);
      // The padding's +Inf score never reaches a row.
      expect(output[0]!.slice(3)).toEqual([0, 0]);
      expect(output.flat().every(Number.isFinite)).toBe(true);
      // Row 2: two valid 1e30 scores share the weight (no overflow); 0.5 and 3 get exp(-1e30) = 0.
      expect(output[2]).toEqual([0.5, 0, 0, 0.5, 0]);
      // Row 3: one real step takes all the weight.
      expect(output[3]).toEqual([1, 0, 0, 0, 0]);
    });

    it('an explicit [batch, 1, keys] key-padding mask input: padded keys get exactly 0, NaN/+Inf there never leak, a batch without valid keys is all 0', async () => {
      const { output, problems } = await keyMaskScenario();
      expect(problems).toEqual([]);
      for (const row of output[0]!) expect(row.slice(2)).toEqual([0, 0]);
      expect(output[0]![2]).toEqual([1, 0, 0, 0]);
      expect(output[1]!.flat().every((v) => v === 0)).toBe(true);
    });

    for (const c of UNMASKED_CASES) {
      it(`without a mask it computes exactly what tfjs's Softmax layer does (${c.label})`, async () => {
        const { ours, stock } = await unmaskedScenario(c.shape, c.axis);
        if (getBackend() === 'webgl' && Array.isArray(c.axis)) {
          // Several axes: the same ops as tfjs (exp(x - logSumExp(x, axes))); exact on cpu and
          // wasm, but on webgl the two differ by a few float32 ulps (measured: ~1e-6 relative;
          // tfjs's own layer applied twice agrees with itself, so the cause is not run order).
          ours.forEach((v, i) => {
            expect(Math.abs(v - stock[i]!)).toBeLessThanOrEqual(1e-5 * stock[i]!);
          });
          return;
        }
        expect(ours).toEqual(stock);
      });
    }

    it(`model.fit (Embedding(maskZero) -> Dense -> Softmax, per-token classes): loss falls >= ${SOFTMAX_FIT_MIN_FACTOR}x, padding stays exactly 0, no leak`, async () => {
      const r = await softmaxFitScenario();
      onFit?.(r.initialLoss / r.finalLoss);
      expect(r.losses.every(Number.isFinite)).toBe(true);
      expect(r.finalLoss).toBeLessThan(r.initialLoss / SOFTMAX_FIT_MIN_FACTOR);
      expect(r.paddingMax).toBe(0);
      expect(r.correct).toBe(r.realTokens);
      expect(r.tensorsAfter).toBe(r.tensorsBefore);
    });
  });
}
