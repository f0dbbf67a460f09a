import {
  asBagAttrs,
  asBagGradAttrs,
  EMBEDDING_BAG,
  type EmbeddingBagGradInputs,
  type EmbeddingBagInputs,
  type EmbeddingBagSampleWeightsGradInputs,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { flatView, run } from '../passes.js';
import type { MaskedProgram } from '../programs/base.js';
import {
  BagForwardProgram,
  BagPositionProgram,
  BagSampleWeightsGradProgram,
  type BagShape,
  BagStatProgram,
  BagWeightGradProgram,
  BitonicSortProgram,
  MAX_IDS,
  RunStartProgram,
  ZerosProgram,
} from '../programs/embedding_bag.js';

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Ids, offsets and positions are floats in webgl textures (int32 is stored as float32), exact
 * below 2^24: larger tables or more ids would be gathered from the wrong rows, so they are
 * refused instead. (Not a check of the ids' values: those stay on the GPU.)
 */
function checkLimits(numEmbeddings: number, nnz: number, batch: number): void {
  if (numEmbeddings > MAX_IDS || nnz >= MAX_IDS || batch >= MAX_IDS) {
    throw new Error(
      `embeddingBag: the webgl kernels hold ids and offsets as float32 (exact below 2^24): got ` +
        `${numEmbeddings} rows, ${nnz} ids, ${batch} bags`,
    );
  }
}

/**
 * One call's programs, on flat unpacked views of the inputs (a packed input is unpacked once:
 * ids, offsets and dy are small; a packed table costs one pass over it). Every intermediate is
 * released on the way out, whether the call succeeds or throws.
 */
class Call {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly webgl: MathBackendWebGL) {}

  view(t: TensorInfo): TensorInfo {
    return flatView(this.webgl, t, this.temps);
  }

  /** A program's output, released with the call's other intermediates. */
  temp(program: MaskedProgram, inputs: TensorInfo[]): TensorInfo {
    const out = run(this.webgl, program, inputs);
    this.temps.push(out);
    return out;
  }

  /** Releases `t` now (a sort pass's input once the next one is written). */
  drop(t: TensorInfo): void {
    const i = this.temps.indexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    this.webgl.disposeIntermediateTensorInfo(t);
  }

  dispose(): void {
    for (const t of this.temps) this.webgl.disposeIntermediateTensorInfo(t);
  }
}

/** `shape` of zeros (a shader writes them: no table-sized upload), or an empty tensor. */
function zeros(webgl: MathBackendWebGL, shape: number[]): TensorInfo {
  const size = sizeOf(shape);
  if (size === 0) return webgl.makeTensorInfo(shape, 'float32', new Float32Array(0));
  return reshaped(run(webgl, new ZerosProgram(size), []), shape);
}

/** The flat output of a program as `shape` (an unpacked texture is row-major whatever its shape). */
const reshaped = (t: TensorInfo, shape: number[]): TensorInfo => ({
  dataId: t.dataId,
  shape,
  dtype: 'float32',
});

function bagShape(
  numEmbeddings: number,
  dim: number,
  ids: TensorInfo,
  offsets: TensorInfo,
  paddingId: number,
): BagShape {
  const nnz = sizeOf(ids.shape);
  const batch = Math.max(0, sizeOf(offsets.shape) - 1);
  checkLimits(numEmbeddings, nnz, batch);
  return { numEmbeddings, dim, nnz, batch, paddingId };
}

/**
 * `EmbeddingBag` on 'webgl': one pass, each output element gathering and reducing its bag
 * (BagForwardProgram); never the `[nnz, dim]` rows tfjs's gather would write.
 */
export const embeddingBagWebgl: KernelFunc = ({ inputs, backend, attrs }) => {
  const { weight, ids, offsets, perSampleWeights } = inputs as EmbeddingBagInputs;
  const { mode, paddingId } = asBagAttrs(attrs);
  const webgl = backend as MathBackendWebGL;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const s = bagShape(numEmbeddings, dim, ids, offsets, paddingId);
  if (s.batch * dim === 0 || s.nnz === 0) return zeros(webgl, [s.batch, dim]);
  const call = new Call(webgl);
  try {
    const weighted = perSampleWeights !== undefined && mode === 'sum';
    const program = new BagForwardProgram(mode, s, weighted);
    const views = [weight, ids, offsets, ...(weighted ? [perSampleWeights] : [])].map((t) =>
      call.view(t),
    );
    return reshaped(run(webgl, program, views), [s.batch, dim]);
  } finally {
    call.dispose();
  }
};

/**
 * The positions 0..nnz-1 sorted by (key, position), keys from BagPositionProgram 'key' (a real
 * id in a bag, else numEmbeddings): a bitonic sort on the GPU, log2(n) (log2(n) + 1) / 2 passes
 * over n = the next power of two >= nnz, each a cheap gather of two slots and their keys. No
 * atomics or scatter in WebGL: the sort groups each row's contributions so that every element of
 * d weight reads only its own run (the alternative, each element scanning all nnz ids, is what
 * makes scatterND slow on a large table).
 */
function sortPositions(call: Call, key: TensorInfo, s: BagShape): TensorInfo {
  const n = 2 ** Math.ceil(Math.log2(Math.max(2, s.nnz)));
  let perm: TensorInfo | undefined;
  for (let k = 2; k <= n; k *= 2) {
    for (let j = k / 2; j >= 1; j /= 2) {
      const program = new BitonicSortProgram(n, s.nnz, s.numEmbeddings, k, j, perm === undefined);
      const next = call.temp(program, perm ? [key, perm] : [key]);
      if (perm) call.drop(perm);
      perm = next;
    }
  }
  return perm!;
}

/**
 * `EmbeddingBagGrad` on 'webgl': d weight `[numEmbeddings, dim]` without atomics. Per position its
 * sort key and bag; the positions sorted by id (sortPositions); per row the start of its run in
 * the sorted order (binary search); then each element of d weight sums its run's shares of dy
 * (BagWeightGradProgram), with the mode's statistic per bag (mean: the count; max: the ties per
 * column). Rows no real id touches are exactly 0.
 */
export const embeddingBagGradWebgl: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, ids, offsets, perSampleWeights, weight, y } = inputs as EmbeddingBagGradInputs;
  const { mode, paddingId, numEmbeddings } = asBagGradAttrs(attrs);
  const webgl = backend as MathBackendWebGL;
  const dim = dy.shape[1]!;
  const s = bagShape(numEmbeddings, dim, ids, offsets, paddingId);
  const shape = [numEmbeddings, dim];
  if (numEmbeddings * dim === 0 || s.nnz === 0 || s.batch === 0) return zeros(webgl, shape);
  const call = new Call(webgl);
  try {
    const [idsV, offsetsV, dyV] = [ids, offsets, dy].map((t) => call.view(t)) as [
      TensorInfo,
      TensorInfo,
      TensorInfo,
    ];
    const key = call.temp(new BagPositionProgram('key', s), [idsV, offsetsV]);
    const bags = call.temp(new BagPositionProgram('bag', s), [idsV, offsetsV]);
    const perm = sortPositions(call, key, s);
    const starts = call.temp(new RunStartProgram(numEmbeddings, s.nnz), [key, perm]);
    const common = [dyV, perm, bags, starts];
    const weighted = perSampleWeights !== undefined && mode === 'sum';
    let extra: TensorInfo[] = [];
    if (mode === 'mean') {
      extra = [call.temp(new BagStatProgram('count', s), [idsV, offsetsV])];
    } else if (mode === 'max') {
      const [weightV, yV] = [call.view(weight!), call.view(y!)] as [TensorInfo, TensorInfo];
      const ties = call.temp(new BagStatProgram('ties', s), [idsV, offsetsV, weightV, yV]);
      extra = [weightV, yV, ties];
    } else if (weighted) {
      extra = [call.view(perSampleWeights)];
    }
    const program = new BagWeightGradProgram(mode, s, weighted);
    return reshaped(run(webgl, program, [...common, ...extra]), shape);
  } finally {
    call.dispose();
  }
};

/**
 * `EmbeddingBagSampleWeightsGrad` on 'webgl' (mode 'sum'): per position, dy of its bag (binary
 * search over the offsets) dotted with its id's row, in one pass.
 */
export const embeddingBagSampleWeightsGradWebgl: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, weight, ids, offsets } = inputs as EmbeddingBagSampleWeightsGradInputs;
  const { paddingId } = asBagAttrs(attrs);
  const webgl = backend as MathBackendWebGL;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const s = bagShape(numEmbeddings, dim, ids, offsets, paddingId);
  if (s.nnz === 0 || s.batch * dim === 0 || numEmbeddings === 0) return zeros(webgl, [s.nnz]);
  const call = new Call(webgl);
  try {
    const views = [dy, weight, ids, offsets].map((t) => call.view(t));
    return reshaped(run(webgl, new BagSampleWeightsGradProgram(s), views), [s.nnz]);
  } finally {
    call.dispose();
  }
};

/** The embedding bag's three kernels for 'webgl' (its gradient is attached by the op itself). */
export const webglBagKernelConfigs: KernelConfig[] = [
  { kernelName: EMBEDDING_BAG.kernelName, backendName: 'webgl', kernelFunc: embeddingBagWebgl },
  {
    kernelName: EMBEDDING_BAG.gradKernelName,
    backendName: 'webgl',
    kernelFunc: embeddingBagGradWebgl,
  },
  {
    kernelName: EMBEDDING_BAG.sampleWeightsGradKernelName,
    backendName: 'webgl',
    kernelFunc: embeddingBagSampleWeightsGradWebgl,
  },
];
