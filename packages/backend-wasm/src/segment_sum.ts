import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { CallHeap, offsetOf, type WasmBackendLike } from './heap.js';
import { kernelModule } from './modules.js';

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * tfjs's `UnsortedSegmentSum` for 'wasm', which tfjs-backend-wasm 4.x does not have
 * (tensorflow/tfjs#8082): without it the gradient of `tf.gather` (every Embedding layer) throws
 * in `model.fit` on wasm. tfjs's kernel contract: inputs `{x, segmentIds}` (int32), attr
 * `{numSegments}`; output `[numSegments, ...x.shape.slice(1)]` of x's dtype (float32 or int32)
 * with out[s] = the sum of the rows of x whose segment id is s. Ids outside [0, numSegments) are
 * dropped, as on tfjs's cpu backend. The ids are normally 1-D ([x.shape[0]], all tfjs's gather
 * gradient passes); ids whose shape is a longer prefix of x's are taken as tfjs-backend-cpu does
 * (a row of ids spans x's axes after the first). One scatter-add pass on the heap
 * (assembly/scatter.ts), where the cpu kernel makes a full pass per segment.
 */
export const unsortedSegmentSumWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  // (tfjs types UnsortedSegmentSumInputs' members as possibly undefined.)
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const wasm = backend as unknown as WasmBackendLike;
  const what = `unsortedSegmentSum (x.shape [${x.shape}], segmentIds.shape [${segmentIds.shape}])`;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`${what}: x must be float32 or int32 on wasm, got dtype ${x.dtype}`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`${what}: segmentIds must be int32, got dtype ${segmentIds.dtype}`);
  }
  const idsRank = segmentIds.shape.length;
  if (
    idsRank === 0 ||
    idsRank > x.shape.length ||
    segmentIds.shape.some((d, i) => d !== x.shape[i])
  ) {
    throw new Error(`${what}: segmentIds must hold one id per row of x (shape [${x.shape[0]}])`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`${what}: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const heap = new CallHeap(wasm, 'unsortedSegmentSum');
  try {
    const out = heap.allocate([numSegments, ...x.shape.slice(1)], x.dtype, 'output');
    const outSize = numSegments * sizeOf(x.shape.slice(1));
    if (outSize === 0) return heap.keep(out);
    const chunks = sizeOf(segmentIds.shape);
    kernelModule(wasm, 'scatter').segmentSum(
      chunks > 0 ? offsetOf(wasm, x) : 0,
      chunks > 0 ? offsetOf(wasm, segmentIds) : 0,
      out.offset,
      chunks,
      sizeOf(segmentIds.shape.slice(1)),
      sizeOf(x.shape.slice(idsRank)),
      numSegments,
      x.dtype === 'int32' ? 1 : 0,
    );
    return heap.keep(out);
  } finally {
    heap.release();
  }
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumWasm,
};

/**
 * Registers {@link unsortedSegmentSumConfig} unless 'wasm' already has an UnsortedSegmentSum (a
 * later tfjs-backend-wasm that ships one wins). True if this registered it.
 */
export function registerUnsortedSegmentSum(): boolean {
  if (getKernel(UnsortedSegmentSum, 'wasm') !== undefined) return false;
  registerKernel(unsortedSegmentSumConfig);
  return true;
}
