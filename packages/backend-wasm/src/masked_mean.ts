import {
  asMaskedMeanAttrs,
  MaskedMean,
  type MaskedMeanInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelsFor, offsetOf, type WasmBackendLike, withTables } from './heap.js';

/**
 * One pass over x in place on the wasm heap, writing straight into the output tensor (every
 * element, since tfjs does not zero it). Contiguous reduced axes (e.g. time in [batch, time,
 * features]) are addressed from four scalars; any other axis set through two small int32 tables
 * of mask offsets that live on the heap for the duration of the call.
 */
export const maskedMeanWasm: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { x, mask } = inputs as MaskedMeanInputs;
  const { axis, keepDims } = asMaskedMeanAttrs(attrs);
  const wasm = backend as unknown as WasmBackendLike;
  const g = maskedMeanGeometry(x.shape, mask.shape, axis, keepDims);
  const out = wasm.makeOutput(g.outShape, 'float32');
  if (g.keptSize * g.inner === 0) return out; // empty output: nothing to write

  const k = kernelsFor(wasm);
  const xPtr = offsetOf(wasm, x);
  const maskPtr = offsetOf(wasm, mask);
  const outPtr = offsetOf(wasm, out);
  if (g.blocks !== null) {
    const { outer, reduce, mid } = g.blocks;
    k.maskedMeanBlocks(xPtr, maskPtr, outPtr, outer, reduce, mid, g.inner);
  } else {
    withTables(wasm, g.keptOffsets, g.reduceOffsets, (kept, red) =>
      k.maskedMeanTables(xPtr, maskPtr, outPtr, kept, g.keptSize, red, g.reduceSize, g.inner),
    );
  }
  return out;
};

export const maskedMeanWasmConfig: KernelConfig = {
  kernelName: MaskedMean,
  backendName: 'wasm',
  kernelFunc: maskedMeanWasm,
};
