import { EMBEDDING_BAG } from '@masked-ops/core';
import { seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { type KernelPath, kernelPath } from '../matrix.js';
import { auc } from './auc.js';
import {
  BAG_LEN,
  type ClickData,
  DEFAULT_RULE,
  encodeRows,
  FIELDS,
  generateClicks,
  makeRule,
  type RuleOptions,
  sliceData,
} from './data.js';
import { createModel, type ModelKind } from './model.js';

/**
 * Trains DeepFM and the logistic-regression baseline on the same synthetic click log (on the active
 * backend), then scores both on held-out impressions: AUC (rank-based) and log loss. Everything is
 * seeded: the rule, the impressions, the initial values and each epoch's shuffle.
 */
export interface DeepFMOptions {
  rule: RuleOptions;
  /** Impressions to train on, and held out for the AUC. */
  train: number;
  test: number;
  /** Seed of the impressions (the rule has its own). */
  dataSeed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  embeddingDim: number;
  hidden: number[];
  /** Seed of the initial values and of the shuffles. */
  modelSeed: number;
  /** The models to train, in this order. */
  models: ModelKind[];
}

/**
 * The CLI's and the page's settings: 8,000 training impressions, 4 epochs of Adam; DeepFM's held-out
 * AUC ends some 0.16 above the baseline's.
 */
export const DEEPFM_DEFAULTS: DeepFMOptions = {
  rule: DEFAULT_RULE,
  train: 8_000,
  test: 4_000,
  dataSeed: 1,
  epochs: 4,
  batchSize: 256,
  learningRate: 0.02,
  embeddingDim: 8,
  hidden: [32, 16],
  modelSeed: 7,
  models: ['deepfm', 'lr'],
};

export interface EpochLog {
  epoch: number;
  /** Mean training loss (sigmoid cross-entropy) over the epoch's mini-batches. */
  loss: number;
  /** Live tensors (`tf.memory().numTensors`) after the epoch, everything but the model disposed. */
  numTensors: number;
  ms: number;
}

export interface ModelResult {
  kind: ModelKind;
  /** Trainable numbers. */
  parameters: number;
  epochs: EpochLog[];
  /** Held-out AUC and mean log loss. */
  auc: number;
  logLoss: number;
  /**
   * Largest change of `numTensors` from the end of the first epoch to the end of any later one (the
   * optimizer creates its slots in the first step): 0 when nothing leaks.
   */
  leak: number;
  seconds: number;
}

export interface DeepFMRun {
  backend: string;
  /** What ran the bag: the plugin's kernels, or core's built-in-op fallback. */
  kernel: KernelPath;
  options: DeepFMOptions;
  /** Share of clicks in the training and the held-out impressions. */
  clickRate: { train: number; test: number };
  /** AUC of the generating rule's own logits on the held-out impressions (the ceiling). */
  oracleAuc: number;
  models: ModelResult[];
  /** Live tensors before and after the whole run (models disposed). */
  tensorsBefore: number;
  tensorsAfter: number;
}

export type EpochCallback = (kind: ModelKind, log: EpochLog) => void;

const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

/** Mean log loss of logits against 0/1 labels, in float64 (stable for large |logit|). */
export function logLoss(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]!;
    // softplus(z) - y * z
    s += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - labels[i]! * z;
  }
  return s / logits.length;
}

/** Encoded bags as the model's input tensor `[n * F, BAG_LEN]`. */
const bagTensor = (ids: Int32Array, n: number): tf.Tensor2D =>
  tf.tensor2d(ids, [n * FIELDS.length, BAG_LEN], 'int32');

/**
 * Logits of a whole data set, in chunks of the training batch (one read per chunk): the shapes the
 * training compiled its webgl programs for, and a cost per call core's fallback can afford (its
 * scatter-add on webgl grows with bags x ids).
 */
async function predict(
  logitsOf: (ids: tf.Tensor2D) => tf.Tensor1D,
  d: ClickData,
  chunk: number,
): Promise<Float32Array> {
  const out = new Float32Array(d.n);
  for (let from = 0; from < d.n; from += chunk) {
    const part = encodeRows(d, null, from, Math.min(d.n, from + chunk));
    const ids = bagTensor(part.ids, part.n);
    const z = logitsOf(ids);
    out.set(await z.data(), from);
    tf.dispose([ids, z]);
  }
  return out;
}

/** Lets the page repaint (and the CLI print) between steps. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

async function trainOne(
  kind: ModelKind,
  o: DeepFMOptions,
  train: ClickData,
  test: ClickData,
  onEpoch?: EpochCallback,
): Promise<ModelResult> {
  const began = performance.now();
  const model = createModel({
    kind,
    embeddingDim: o.embeddingDim,
    hidden: o.hidden,
    seed: o.modelSeed,
  });
  const optimizer = tf.train.adam(o.learningRate);
  const shuffle = seededRandom(o.modelSeed ^ 0x5eed);
  const order = Int32Array.from({ length: train.n }, (_, i) => i);
  const epochs: EpochLog[] = [];
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const start = performance.now();
      // Fisher-Yates with the seeded generator: the same batches on every backend.
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(shuffle() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      // The epoch's losses stay on the device, summed: one read per epoch (a read per step would
      // stall webgl's pipeline).
      let total: tf.Tensor = tf.scalar(0);
      let steps = 0;
      for (let from = 0; from < train.n; from += o.batchSize) {
        const batch = encodeRows(train, order, from, Math.min(train.n, from + o.batchSize));
        const ids = bagTensor(batch.ids, batch.n);
        const labels = tf.tensor1d(batch.labels);
        const cost = optimizer.minimize(
          () => tf.losses.sigmoidCrossEntropy(labels, model.logits(ids)) as tf.Scalar,
          true,
          model.variables,
        )!;
        const next = tf.add(total, cost);
        tf.dispose([total, cost, labels, ids]);
        total = next;
        steps++;
        if (steps % 16 === 0) await breathe();
      }
      const loss = (await total.data())[0]! / steps;
      total.dispose();
      const log: EpochLog = {
        epoch,
        loss,
        numTensors: tf.memory().numTensors,
        ms: performance.now() - start,
      };
      epochs.push(log);
      onEpoch?.(kind, log);
      await breathe();
    }
    const logits = await predict(model.logits, test, o.batchSize);
    const first = epochs[0]!.numTensors;
    return {
      kind,
      parameters: model.variables.reduce((a, v) => a + v.size, 0),
      epochs,
      auc: auc(logits, test.labels),
      logLoss: logLoss(logits, test.labels),
      leak: Math.max(0, ...epochs.map((e) => Math.abs(e.numTensors - first))),
      seconds: (performance.now() - began) / 1000,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** Which code runs the bag on the active backend. */
export const bagKernel = (): KernelPath =>
  kernelPath(EMBEDDING_BAG.kernelName, EMBEDDING_BAG.gradKernelName);

/** Generates the data, trains each model of `options.models` and scores it, on the active backend. */
export async function runDeepFM(
  options: Partial<DeepFMOptions> = {},
  onEpoch?: EpochCallback,
): Promise<DeepFMRun> {
  const o: DeepFMOptions = { ...DEEPFM_DEFAULTS, ...options };
  const tensorsBefore = tf.memory().numTensors;
  const all = generateClicks(makeRule(o.rule), o.train + o.test, o.dataSeed);
  const train = sliceData(all, 0, o.train);
  const test = sliceData(all, o.train, o.train + o.test);
  const models: ModelResult[] = [];
  for (const kind of o.models) models.push(await trainOne(kind, o, train, test, onEpoch));
  return {
    backend: tf.getBackend(),
    kernel: bagKernel(),
    options: o,
    clickRate: { train: mean(train.labels), test: mean(test.labels) },
    oracleAuc: auc(test.logits, test.labels),
    models,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}
