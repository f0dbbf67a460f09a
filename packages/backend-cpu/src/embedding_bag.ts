import {
  asBagAttrs,
  asBagGradAttrs,
  badOffsets,
  type EmbeddingBagGradInputs,
  type EmbeddingBagInputs,
  type EmbeddingBagSampleWeightsGradInputs,
  idOutOfRange,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type BagGradData, CPU_BAG_FOLDS, CPU_BAG_GRADS, CPU_REDUCERS } from './reducers.js';

/** The bags of a call: flat ids and `batch + 1` offsets (core's kernel contract). */
interface Bags {
  ids: Int32Array;
  offsets: Int32Array;
  batch: number;
}

const valuesOf = <T>(cpu: MathBackendCPU, t: TensorInfo): T => cpu.data.get(t.dataId).values as T;

/**
 * Reads the ids and offsets and checks them before anything is allocated or written: offsets
 * must start at 0, never decrease and stay within the ids, and every id of a bag must be a row
 * of the table or the padding id. Core cannot check these without reading the values (docs/SPEC.md
 * "Embedding bag"); here they are on the host, and an unchecked id would read (or, in the
 * gradient, write) outside weight. Every kernel checks: each can be run on its own.
 */
function readBags(
  cpu: MathBackendCPU,
  idsInfo: TensorInfo,
  offsetsInfo: TensorInfo,
  numEmbeddings: number,
  dim: number,
): Bags {
  const ids = valuesOf<Int32Array>(cpu, idsInfo);
  const offsets = valuesOf<Int32Array>(cpu, offsetsInfo);
  const nnz = ids.length;
  const batch = Math.max(0, offsets.length - 1);
  if (offsets.length > 0 && offsets[0] !== 0) throw badOffsets(`offsets[0] = ${offsets[0]}`, nnz);
  for (let b = 1; b <= batch; b++) {
    const start = offsets[b - 1]!;
    const end = offsets[b]!;
    if (end < start) throw badOffsets(`offsets[${b}] = ${end} < offsets[${b - 1}] = ${start}`, nnz);
    if (end > nnz) throw badOffsets(`offsets[${b}] = ${end}`, nnz);
  }
  // Only the ids inside bags are read (with includeLastOffset the bags may end before the ids).
  const end = batch > 0 ? offsets[batch]! : 0;
  for (let i = 0; i < end; i++) {
    const id = ids[i]!;
    // Unsigned: a negative id is out of range too. No exception for the padding id: core
    // normalises it into the range (-1 for none, which must not excuse an id of -1).
    if (id >>> 0 >= numEmbeddings) throw idOutOfRange(i, id, numEmbeddings, dim);
  }
  return { ids, offsets, batch };
}

/**
 * `EmbeddingBag` on 'cpu': each bag folds its real ids' weight rows into a float64 accumulator
 * with the masked reduce's reducer (CPU_REDUCERS: state, init, finish; CPU_BAG_FOLDS: the fold
 * through the ids). A bag with no real id stays 0 in every mode (the output is zero-filled).
 */
export const embeddingBagCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { weight, ids, offsets, perSampleWeights } = inputs as EmbeddingBagInputs;
  const { mode, paddingId } = asBagAttrs(attrs);
  const cpu = backend as MathBackendCPU;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const bags = readBags(cpu, ids, offsets, numEmbeddings, dim);
  const ws = valuesOf<Float32Array>(cpu, weight);
  const scales = perSampleWeights && valuesOf<Float32Array>(cpu, perSampleWeights);
  const r = CPU_REDUCERS[mode];
  const fold = CPU_BAG_FOLDS[mode];
  const out = new Float32Array(bags.batch * dim);
  const outs = [out];
  const acc = new Float64Array(r.width * dim);
  for (let b = 0; b < bags.batch; b++) {
    r.init(acc, dim);
    const from = bags.offsets[b]!;
    const count = fold(acc, ws, bags.ids, scales, from, bags.offsets[b + 1]!, paddingId, dim);
    if (count > 0) r.finish(acc, count, outs, b * dim, dim);
  }
  return cpu.makeTensorInfo([bags.batch, dim], 'float32', out);
};

/**
 * `EmbeddingBagGrad` on 'cpu': d weight, dense `[numEmbeddings, dim]` and zero-filled (rows no
 * real id touches are exactly 0), with each bag's share of dy scatter-added into its ids' rows.
 * Linear in nnz * dim plus the table, where tfjs's gather gradient (UnsortedSegmentSum) makes one
 * full pass per row of the table.
 */
export const embeddingBagGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, ids, offsets, perSampleWeights, weight, y } = inputs as EmbeddingBagGradInputs;
  const { mode, paddingId, numEmbeddings } = asBagGradAttrs(attrs);
  const cpu = backend as MathBackendCPU;
  const dim = dy.shape[1]!;
  const bags = readBags(cpu, ids, offsets, numEmbeddings, dim);
  const d: BagGradData = {
    dw: new Float32Array(numEmbeddings * dim),
    dy: valuesOf<Float32Array>(cpu, dy),
    ids: bags.ids,
    pad: paddingId,
    dim,
    st: new Float64Array(dim),
  };
  if (perSampleWeights) d.scales = valuesOf<Float32Array>(cpu, perSampleWeights);
  if (weight) d.ws = valuesOf<Float32Array>(cpu, weight);
  if (y) d.ys = valuesOf<Float32Array>(cpu, y);
  const scatter = CPU_BAG_GRADS[mode];
  for (let b = 0; b < bags.batch; b++) scatter(d, b, bags.offsets[b]!, bags.offsets[b + 1]!);
  return cpu.makeTensorInfo([numEmbeddings, dim], 'float32', d.dw);
};

/**
 * `EmbeddingBagSampleWeightsGrad` on 'cpu' (mode 'sum'): d perSampleWeights[i] is dy of i's bag
 * dotted with weight row ids[i], in float64; 0 at padding and at ids outside every bag.
 */
export const embeddingBagSampleWeightsGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, weight, ids, offsets } = inputs as EmbeddingBagSampleWeightsGradInputs;
  const { paddingId } = asBagAttrs(attrs);
  const cpu = backend as MathBackendCPU;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const bags = readBags(cpu, ids, offsets, numEmbeddings, dim);
  const ws = valuesOf<Float32Array>(cpu, weight);
  const g = valuesOf<Float32Array>(cpu, dy);
  const out = new Float32Array(bags.ids.length);
  for (let b = 0; b < bags.batch; b++) {
    const row = b * dim;
    for (let i = bags.offsets[b]!; i < bags.offsets[b + 1]!; i++) {
      const id = bags.ids[i]!;
      if (id === paddingId) continue;
      const base = id * dim;
      let dot = 0;
      for (let f = 0; f < dim; f++) dot += g[row + f]! * ws[base + f]!;
      out[i] = dot;
    }
  }
  return cpu.makeTensorInfo([bags.ids.length], 'float32', out);
};
