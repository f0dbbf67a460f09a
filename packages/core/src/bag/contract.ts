import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The embedding bag's kernel contract (docs/SPEC.md "Embedding bag"). The op normalises both
 * input forms (padded `[batch, bagLen]` ids, or 1-D ids with offsets) into one: flat ids and
 * `batch + 1` offsets, bag b being `ids[offsets[b] .. offsets[b + 1])`. The bag is the family's
 * masked reduce with a different row source (`weight[ids[i]]`) and mask (`ids[i] != paddingId`),
 * so backends reuse their sum / mean / max reducers.
 */

export type EmbeddingBagMode = 'sum' | 'mean' | 'max';

export const EMBEDDING_BAG = {
  /** Forward: `{weight, ids, offsets, perSampleWeights?}` -> `[batch, dim]`. */
  kernelName: 'EmbeddingBag',
  /** d weight: `{dy, ids, offsets, perSampleWeights?, weight?, y?}` -> `[numEmbeddings, dim]`. */
  gradKernelName: 'EmbeddingBagGrad',
  /** d perSampleWeights: `{dy, weight, ids, offsets}` -> `[nnz]`. */
  sampleWeightsGradKernelName: 'EmbeddingBagSampleWeightsGrad',
} as const;

/**
 * `weight`: float32 `[numEmbeddings, dim]`; `ids`: int32 `[nnz]`; `offsets`: int32 `[batch + 1]`,
 * non-decreasing from 0 to nnz (checked by the kernels that can read them: cpu, wasm);
 * `perSampleWeights`: float32 `[nnz]`, mode 'sum' only.
 */
export type EmbeddingBagInputs = {
  weight: TensorInfo;
  ids: TensorInfo;
  offsets: TensorInfo;
  perSampleWeights?: TensorInfo;
};

export interface EmbeddingBagAttrs {
  mode: EmbeddingBagMode;
  /** Normalised: in [0, numEmbeddings), or -1 for none. */
  paddingId: number;
}

/**
 * `dy`: float32 `[batch, dim]`; `ids`, `offsets` (and `perSampleWeights`) as in the forward;
 * mode 'max' also gets `weight` and the forward output `y` (to find the tied arg-max rows).
 */
export type EmbeddingBagGradInputs = {
  dy: TensorInfo;
  ids: TensorInfo;
  offsets: TensorInfo;
  perSampleWeights?: TensorInfo;
  weight?: TensorInfo;
  y?: TensorInfo;
};

export interface EmbeddingBagGradAttrs extends EmbeddingBagAttrs {
  numEmbeddings: number;
}

/** `dy`: `[batch, dim]`; `weight`, `ids`, `offsets` as in the forward. Output `[nnz]`. */
export type EmbeddingBagSampleWeightsGradInputs = {
  dy: TensorInfo;
  weight: TensorInfo;
  ids: TensorInfo;
  offsets: TensorInfo;
};

export const asBagAttrs = (attrs: NamedAttrMap | undefined): EmbeddingBagAttrs =>
  attrs as unknown as EmbeddingBagAttrs;
export const asBagGradAttrs = (attrs: NamedAttrMap | undefined): EmbeddingBagGradAttrs =>
  attrs as unknown as EmbeddingBagGradAttrs;

/**
 * The error a kernel that reads ids (cpu, wasm) throws for an id outside `[0, numEmbeddings)` that
 * is not the padding id, before it writes anything. One wording for every backend and the tests.
 */
export const idOutOfRange = (
  position: number,
  id: number,
  numEmbeddings: number,
  dim: number,
): Error =>
  new Error(
    `embeddingBag: ids[${position}] = ${id} is outside [0, ${numEmbeddings}) (weight.shape [${numEmbeddings},${dim}]) and is not the padding id`,
  );

/** The error for offsets that do not describe bags of ids (read by cpu and wasm kernels). */
export const badOffsets = (detail: string, nnz: number): Error =>
  new Error(
    `embeddingBag: offsets must start at 0, never decrease and end at most at ids.size ${nnz}: ${detail}`,
  );
