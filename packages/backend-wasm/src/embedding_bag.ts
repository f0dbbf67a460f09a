import {
  asBagAttrs,
  asBagGradAttrs,
  badOffsets,
  EMBEDDING_BAG,
  type EmbeddingBagGradInputs,
  type EmbeddingBagInputs,
  type EmbeddingBagSampleWeightsGradInputs,
  idOutOfRange,
} from '@masked-ops/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { ROWS_PER_PARTIAL } from './generated/wasm_modules.js';
import { CallHeap, heapMemory, offsetOf, type WasmBackendLike } from './heap.js';
import { kernelModule } from './modules.js';
import { WASM_REDUCERS } from './reducers.js';

/** The bags of a call (core's kernel contract: flat ids, `batch + 1` offsets), checked. */
interface Bags {
  batch: number;
  nnz: number;
  /** The most ids in one bag (padding included): long bags need float64 scratch. */
  longest: number;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Reads the ids and offsets where they are, on the wasm heap, and checks them before anything is
 * allocated or written: offsets must start at 0, never decrease and stay within the ids, and every
 * id of a bag must be a row of the table or the padding id. An unchecked id would make the kernels
 * read (or, in the gradient, write) outside weight. Core cannot check them without reading the
 * values (docs/SPEC.md "Embedding bag"); every kernel checks, since each can be run on its own.
 * Same checks, order and messages as @masked-ops/backend-cpu.
 */
function readBags(
  wasm: WasmBackendLike,
  idsInfo: TensorInfo,
  offsetsInfo: TensorInfo,
  numEmbeddings: number,
  dim: number,
): Bags {
  const buffer = heapMemory(wasm).buffer;
  const nnz = sizeOf(idsInfo.shape);
  const count = sizeOf(offsetsInfo.shape);
  // Views made after the last allocation of the heap (a growth would detach them); read now.
  const ids = new Int32Array(buffer, nnz > 0 ? offsetOf(wasm, idsInfo) : 0, nnz);
  const offsets = new Int32Array(buffer, count > 0 ? offsetOf(wasm, offsetsInfo) : 0, count);
  const batch = Math.max(0, count - 1);
  if (count > 0 && offsets[0] !== 0) throw badOffsets(`offsets[0] = ${offsets[0]}`, nnz);
  let longest = 0;
  for (let b = 1; b <= batch; b++) {
    const start = offsets[b - 1]!;
    const end = offsets[b]!;
    if (end < start) throw badOffsets(`offsets[${b}] = ${end} < offsets[${b - 1}] = ${start}`, nnz);
    if (end > nnz) throw badOffsets(`offsets[${b}] = ${end}`, nnz);
    longest = Math.max(longest, end - start);
  }
  // Only the ids inside bags are read (with includeLastOffset the bags may end before the ids).
  // Unsigned: a negative id is out of range too. No exception for the padding id: core normalises
  // it into the range (-1 for none, which must not excuse an id of -1).
  // The largest id as unsigned first (a branch-free loop: about twice as fast as testing each id
  // in V8), then, only if it is out of range, the first offending position.
  const end = batch > 0 ? offsets[batch]! : 0;
  let largest = 0;
  for (let i = 0; i < end; i++) largest = Math.max(largest, ids[i]! >>> 0);
  if (largest >= numEmbeddings) {
    const i = ids.findIndex((id, k) => k < end && id >>> 0 >= numEmbeddings);
    throw idOutOfRange(i, ids[i]!, numEmbeddings, dim);
  }
  return { batch, nnz, longest };
}

/**
 * `EmbeddingBag` on 'wasm': each bag's real rows reduced straight into its output row on the heap
 * (assembly/bags.ts), one pass over the ids; `[nnz, dim]` is never built. Sums and means of bags
 * longer than ROWS_PER_PARTIAL get `dim` f64s of scratch for their float64 partials.
 */
export const embeddingBagWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { weight, ids, offsets, perSampleWeights } = inputs as EmbeddingBagInputs;
  const { mode, paddingId } = asBagAttrs(attrs);
  const wasm = backend as unknown as WasmBackendLike;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const bags = readBags(wasm, ids, offsets, numEmbeddings, dim);
  const heap = new CallHeap(wasm, 'embeddingBag');
  try {
    const out = heap.allocate([bags.batch, dim], 'float32', 'output');
    if (bags.batch * dim === 0) return heap.keep(out);
    let scratch = 0;
    if (mode !== 'max' && bags.longest > ROWS_PER_PARTIAL) {
      // f64s at an 8-byte boundary: one float more leaves room to align.
      scratch = (heap.allocate([2 * dim + 1], 'float32', 'scratch').offset + 7) & ~7;
    }
    kernelModule(wasm, 'bags').bagReduce(
      WASM_REDUCERS[mode].code,
      offsetOf(wasm, weight),
      offsetOf(wasm, ids),
      offsetOf(wasm, offsets),
      perSampleWeights ? offsetOf(wasm, perSampleWeights) : 0,
      out.offset,
      scratch,
      bags.batch,
      dim,
      paddingId,
    );
    return heap.keep(out);
  } finally {
    heap.release();
  }
};

/**
 * `EmbeddingBagGrad` on 'wasm': d weight, dense `[numEmbeddings, dim]`, zero-filled then each
 * bag's share of dy scatter-added into its real ids' rows (assembly/scatter.ts). Linear in
 * nnz * dim plus the table. Mode max reads weight and the forward output y to find the ties.
 */
export const embeddingBagGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, ids, offsets, perSampleWeights, weight, y } = inputs as EmbeddingBagGradInputs;
  const { mode, paddingId, numEmbeddings } = asBagGradAttrs(attrs);
  const wasm = backend as unknown as WasmBackendLike;
  if (mode === 'max' && (weight === undefined || y === undefined)) {
    // The kernel would read address 0 instead: refuse rather than return garbage.
    throw new Error(`${EMBEDDING_BAG.gradKernelName}: mode 'max' needs inputs weight and y`);
  }
  const dim = dy.shape[1]!;
  const bags = readBags(wasm, ids, offsets, numEmbeddings, dim);
  const heap = new CallHeap(wasm, 'embeddingBag gradient');
  try {
    const dWeight = heap.allocate([numEmbeddings, dim], 'float32', 'gradient');
    if (numEmbeddings * dim === 0) return heap.keep(dWeight);
    const share = heap.allocate([dim], 'float32', 'scratch');
    kernelModule(wasm, 'scatter').bagScatter(
      WASM_REDUCERS[mode].code,
      offsetOf(wasm, dy),
      offsetOf(wasm, ids),
      offsetOf(wasm, offsets),
      perSampleWeights ? offsetOf(wasm, perSampleWeights) : 0,
      weight ? offsetOf(wasm, weight) : 0,
      y ? offsetOf(wasm, y) : 0,
      dWeight.offset,
      share.offset,
      bags.batch,
      dim,
      paddingId,
      numEmbeddings,
    );
    return heap.keep(dWeight);
  } finally {
    heap.release();
  }
};

/**
 * `EmbeddingBagSampleWeightsGrad` on 'wasm' (mode sum): d perSampleWeights `[nnz]`, dy of each
 * id's bag dotted with its weight row in float64 (assembly/bags.ts bagDots); 0 at padding and at
 * ids outside every bag.
 */
export const embeddingBagSampleWeightsGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, weight, ids, offsets } = inputs as EmbeddingBagSampleWeightsGradInputs;
  const { paddingId } = asBagAttrs(attrs);
  const wasm = backend as unknown as WasmBackendLike;
  const [numEmbeddings, dim] = weight.shape as [number, number];
  const bags = readBags(wasm, ids, offsets, numEmbeddings, dim);
  const heap = new CallHeap(wasm, 'embeddingBag gradient');
  try {
    const out = heap.allocate([bags.nnz], 'float32', 'perSampleWeights gradient');
    if (bags.nnz === 0) return heap.keep(out);
    kernelModule(wasm, 'bags').bagDots(
      offsetOf(wasm, dy),
      offsetOf(wasm, weight),
      offsetOf(wasm, ids),
      offsetOf(wasm, offsets),
      out.offset,
      bags.batch,
      bags.nnz,
      dim,
      paddingId,
    );
    return heap.keep(out);
  } finally {
    heap.release();
  }
};

/** The embedding bag's three kernels for 'wasm' (its gradient is attached by the op itself). */
export const wasmBagKernelConfigs: KernelConfig[] = [
  { kernelName: EMBEDDING_BAG.kernelName, backendName: 'wasm', kernelFunc: embeddingBagWasm },
  {
    kernelName: EMBEDDING_BAG.gradKernelName,
    backendName: 'wasm',
    kernelFunc: embeddingBagGradWasm,
  },
  {
    kernelName: EMBEDDING_BAG.sampleWeightsGradKernelName,
    backendName: 'wasm',
    kernelFunc: embeddingBagSampleWeightsGradWasm,
  },
];
