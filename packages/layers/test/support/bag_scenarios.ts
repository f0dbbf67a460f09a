/**
 * EmbeddingBag scenarios shared by the cpu, wasm (Node) and webgl (browser) test files: the layer
 * in a model, against @masked-ops/core's float64 `referenceEmbeddingBag` /
 * `referenceEmbeddingBagGrad`. They return plain numbers and the comparison's problems; each test
 * file asserts.
 */
import {
  type EmbeddingBagMode,
  type ReferenceBagInput,
  referenceEmbeddingBag,
  referenceEmbeddingBagGrad,
} from '@masked-ops/core';
import { compareValues } from '@masked-ops/core/testing';
import {
  memory,
  mul,
  sum,
  type Tensor,
  tensor2d,
  type Variable,
  variableGrads,
} from '@tensorflow/tfjs-core';
import { type LayersModel, sequential } from '@tensorflow/tfjs-layers';
import { type EmbeddingBag, embeddingBagLayer } from '../../src/index.js';

export const BAG_MODES: readonly EmbeddingBagMode[] = ['sum', 'mean', 'max'];

/**
 * Table rows 0..5 (dim 3), exact in float32. Column 2 ties: rows 0, 3 and 5 all hold 2, so a max
 * bag with two of them splits its gradient.
 */
const BASE_TABLE = [
  [0.5, -1, 2],
  [1.5, 0.25, -3],
  [-2, 4, 0.75],
  [3, -0.5, 2],
  [0.125, 1, -1],
  [-1.25, 2.5, 2],
];

/** One padded batch of bags `[4, 4]` and its padding id (as configured: null, 0, or -1 = row 5). */
export interface BagCase {
  label: string;
  paddingId: number | null;
  ids: number[][];
}

/*
 * Each case has an empty bag where it has padding (row 1), a duplicate id (row 2: id 2 twice, one
 * row counted twice in sum/mean and one max), and a bag where column 2 ties (row 3). The padding
 * row of the table is set to [NaN, +Inf, -Inf] (table()), which must never reach an output.
 */
export const BAG_CASES: readonly BagCase[] = [
  {
    label: 'paddingId 0',
    paddingId: 0,
    ids: [
      [1, 3, 0, 0],
      [0, 0, 0, 0],
      [2, 2, 4, 0],
      [5, 3, 1, 4],
    ],
  },
  {
    label: 'paddingId -1 (row 5), padding first',
    paddingId: -1,
    ids: [
      [5, 5, 1, 3],
      [5, 5, 5, 5],
      [2, 5, 2, 4],
      [0, 3, 1, 4],
    ],
  },
  {
    label: 'no paddingId',
    paddingId: null,
    ids: [
      [1, 3, 0, 2],
      [4, 4, 4, 4],
      [2, 2, 4, 0],
      [5, 3, 1, 4],
    ],
  },
];

const INPUT_DIM = BASE_TABLE.length;
const DIM = 3;

/** The table of a case: the base rows, the padding row (if any) poisoned with NaN / ±Inf. */
export function bagTable(c: BagCase): number[][] {
  const table = BASE_TABLE.map((row) => [...row]);
  if (c.paddingId !== null) {
    const pad = c.paddingId < 0 ? c.paddingId + INPUT_DIM : c.paddingId;
    table[pad] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  }
  return table;
}

function referenceInput(c: BagCase, mode: EmbeddingBagMode): ReferenceBagInput {
  const [batch, bagLen] = [c.ids.length, c.ids[0]!.length];
  return {
    weight: bagTable(c).flat(),
    numEmbeddings: INPUT_DIM,
    dim: DIM,
    ids: c.ids.flat(),
    offsets: Array.from({ length: batch + 1 }, (_, b) => b * bagLen),
    mode,
    paddingId: c.paddingId === null ? -1 : c.paddingId < 0 ? c.paddingId + INPUT_DIM : c.paddingId,
  };
}

/** `Input [4] (float32, tfjs's default) -> EmbeddingBag` with the case's table. */
export function bagModel(c: BagCase, mode: EmbeddingBagMode): LayersModel {
  const layer = embeddingBagLayer({
    inputDim: INPUT_DIM,
    outputDim: DIM,
    mode,
    paddingId: c.paddingId,
    inputShape: [c.ids[0]!.length],
  });
  const model = sequential({ layers: [layer] });
  layer.setWeights([tensor2d(bagTable(c))]);
  return model;
}

export interface BagForward {
  /** `[batch, dim]` as predicted. */
  output: number[][];
  /** Out-of-bound elements against the float64 reference (empty: all within bounds). */
  problems: string[];
}

/** `model.predict(tf.tensor2d(ids))` (float32 ids) against `referenceEmbeddingBag`. */
export async function bagForwardScenario(c: BagCase, mode: EmbeddingBagMode): Promise<BagForward> {
  const model = bagModel(c, mode);
  const x = tensor2d(c.ids);
  const y = model.predict(x) as Tensor;
  const output = (await y.array()) as number[][];
  x.dispose();
  y.dispose();
  model.dispose();
  const ref = referenceEmbeddingBag(referenceInput(c, mode));
  return { output, problems: compareValues(output.flat(), ref, 'float32') };
}

/** Per-(bag, column) weights of the loss `sum(y * dy)`: distinct, of both signs. */
const DY = [
  [1, -2, 3],
  [4, 5, -6],
  [-7, 8, 9],
  [10, -11, 12],
];

export interface BagGrad {
  /** d loss / d table `[inputDim, dim]`. */
  dTable: number[][];
  problems: string[];
  /** Table rows that no real id of the case touches (their gradient must be exactly 0). */
  untouchedRows: number[];
}

/** d sum(y * dy) / d embeddings through the layer, against `referenceEmbeddingBagGrad`. */
export async function bagGradScenario(c: BagCase, mode: EmbeddingBagMode): Promise<BagGrad> {
  const model = bagModel(c, mode);
  const layer = model.layers[0] as EmbeddingBag;
  const table = layer.trainableWeights[0]!.read() as Variable;
  const x = tensor2d(c.ids);
  const dy = tensor2d(DY);
  const { value, grads } = variableGrads(
    () => sum(mul(model.apply(x, { training: true }) as Tensor, dy)),
    [table],
  );
  const g = grads[table.name]!;
  const dTable = (await g.array()) as number[][];
  for (const t of [x, dy, value, g]) t.dispose();
  model.dispose();
  const input = referenceInput(c, mode);
  const ref = referenceEmbeddingBagGrad(input, DY.flat());
  const problems = compareValues(
    dTable.flat(),
    { values: ref.dWeight, counts: ref.dWeightCounts, scales: ref.dWeightScales },
    'float32',
  );
  const untouchedRows = Array.from({ length: INPUT_DIM }, (_, r) => r).filter((r) =>
    ref.dWeightCounts.slice(r * DIM, (r + 1) * DIM).every((n) => n === 0),
  );
  return { dTable, problems, untouchedRows };
}

/** numTensors around a predict and around a gradient, each with its results disposed. */
export async function bagLeakScenario(): Promise<{ predict: number; grad: number }> {
  const c = BAG_CASES[0]!;
  const model = bagModel(c, 'max');
  const x = tensor2d(c.ids);
  const before = memory().numTensors;
  const y = model.predict(x) as Tensor;
  await y.data();
  y.dispose();
  const afterPredict = memory().numTensors;
  const table = model.layers[0]!.trainableWeights[0]!.read() as Variable;
  const { value, grads } = variableGrads(
    () => sum(model.apply(x, { training: true }) as Tensor),
    [table],
  );
  await grads[table.name]!.data();
  value.dispose();
  grads[table.name]!.dispose();
  const afterGrad = memory().numTensors;
  x.dispose();
  model.dispose();
  return { predict: afterPredict - before, grad: afterGrad - before };
}
