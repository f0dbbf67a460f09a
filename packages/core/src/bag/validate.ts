import type { DataType } from '@tensorflow/tfjs-core';
import { show } from '../validate.js';
import type { EmbeddingBagMode } from './contract.js';

const fmt = (shape: readonly number[] | undefined): string =>
  shape === undefined ? 'none' : `[${shape.join(',')}]`;

const MODES: readonly EmbeddingBagMode[] = ['sum', 'mean', 'max'];
const ID_DTYPES: readonly DataType[] = ['int32'];

/** What the op knows about its arguments before any kernel runs. */
export interface BagArgInfo {
  weightShape: readonly number[];
  weightDtype: DataType;
  idsShape: readonly number[];
  idsDtype: DataType;
  offsetsShape?: readonly number[];
  offsetsDtype?: DataType;
  perSampleWeightsShape?: readonly number[];
  perSampleWeightsDtype?: DataType;
  mode: unknown;
  paddingId: unknown;
  includeLastOffset: unknown;
}

/**
 * Checks every static rule of docs/SPEC.md "Embedding bag" and returns the normalised mode and
 * padding id (-1 for none). Every message starts with `embeddingBag: ` and ends with the shapes.
 * Rules that depend on the ids' values (an id out of range, offsets that decrease) are checked by
 * the kernels that read them (cpu, wasm).
 */
export function validateBagArgs(info: BagArgInfo): { mode: EmbeddingBagMode; paddingId: number } {
  const { weightShape, idsShape, offsetsShape, perSampleWeightsShape } = info;
  const shapes = `(weight.shape ${fmt(weightShape)}, ids.shape ${fmt(idsShape)}${
    offsetsShape ? `, offsets.shape ${fmt(offsetsShape)}` : ''
  }${perSampleWeightsShape ? `, perSampleWeights.shape ${fmt(perSampleWeightsShape)}` : ''})`;
  const fail = (message: string): never => {
    throw new Error(`embeddingBag: ${message} ${shapes}`);
  };

  const mode = info.mode ?? 'mean';
  if (!MODES.includes(mode as EmbeddingBagMode)) {
    fail(`mode must be 'sum', 'mean' or 'max', got ${show(mode)}`);
  }
  if (info.weightDtype !== 'float32') {
    fail(`weight must be float32, got dtype ${info.weightDtype}`);
  }
  if (weightShape.length !== 2) {
    fail(`weight must be 2-D [numEmbeddings, dim], got rank ${weightShape.length}`);
  }
  if (!ID_DTYPES.includes(info.idsDtype)) {
    fail(`ids must be int32, got dtype ${info.idsDtype}`);
  }
  if (offsetsShape === undefined) {
    if (idsShape.length !== 2) {
      fail(
        `ids must be 2-D [batch, bagLen] (padded bags), or 1-D with offsets, got rank ${idsShape.length}`,
      );
    }
    if (info.includeLastOffset !== undefined && info.includeLastOffset !== false) {
      fail('includeLastOffset needs offsets');
    }
  } else {
    if (idsShape.length !== 1) {
      fail(`ids must be 1-D when offsets are given, got rank ${idsShape.length}`);
    }
    if (info.offsetsDtype !== 'int32') {
      fail(`offsets must be int32, got dtype ${info.offsetsDtype}`);
    }
    if (offsetsShape.length !== 1) {
      fail(`offsets must be 1-D, got rank ${offsetsShape.length}`);
    }
    const includeLast = info.includeLastOffset ?? false;
    if (typeof includeLast !== 'boolean') {
      fail(`includeLastOffset must be a boolean, got ${show(includeLast)}`);
    }
    if (includeLast && offsetsShape[0] === 0) {
      fail('with includeLastOffset, offsets must hold at least one element (the end of the ids)');
    }
  }
  if (perSampleWeightsShape !== undefined) {
    if (mode !== 'sum') {
      fail(`perSampleWeights are only supported with mode 'sum', got mode ${show(mode)}`);
    }
    if (info.perSampleWeightsDtype !== 'float32') {
      fail(`perSampleWeights must be float32, got dtype ${info.perSampleWeightsDtype}`);
    }
    if (
      perSampleWeightsShape.length !== idsShape.length ||
      perSampleWeightsShape.some((d, i) => d !== idsShape[i])
    ) {
      fail('perSampleWeights must have the shape of ids');
    }
  }
  const numEmbeddings = weightShape[0]!;
  const paddingId = info.paddingId;
  if (paddingId === undefined || paddingId === null)
    return { mode: mode as EmbeddingBagMode, paddingId: -1 };
  if (typeof paddingId !== 'number' || !Number.isInteger(paddingId)) {
    fail(`paddingId must be an integer, got ${show(paddingId)}`);
  }
  const p = paddingId as number;
  if (p < -numEmbeddings || p >= numEmbeddings) {
    fail(
      `paddingId ${p} is out of range for ${numEmbeddings} embeddings (valid: ${-numEmbeddings}..${numEmbeddings - 1})`,
    );
  }
  return { mode: mode as EmbeddingBagMode, paddingId: p < 0 ? p + numEmbeddings : p };
}
