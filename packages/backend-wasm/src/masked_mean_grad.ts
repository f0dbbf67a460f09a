import {
  asMaskedMeanGradAttrs,
  MaskedMeanGrad,
  type MaskedMeanGradInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelsFor, offsetOf, type WasmBackendLike, withTables } from './heap.js';

/** dx = valid ? dy / count : 0, every element of dx written in place on the wasm heap. */
export const maskedMeanGradWasm: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { dy, mask } = inputs as MaskedMeanGradInputs;
  const { axis, xShape } = asMaskedMeanGradAttrs(attrs);
  const wasm = backend as unknown as WasmBackendLike;
  const g = maskedMeanGeometry(xShape, mask.shape, axis, true);
  const dx = wasm.makeOutput(xShape, 'float32');
  if (g.keptSize * g.reduceSize * g.inner === 0) return dx; // dx is empty

  const k = kernelsFor(wasm);
  const dyPtr = offsetOf(wasm, dy);
  const maskPtr = offsetOf(wasm, mask);
  const dxPtr = offsetOf(wasm, dx);
  if (g.blocks !== null) {
    const { outer, reduce, mid } = g.blocks;
    k.maskedMeanGradBlocks(dyPtr, maskPtr, dxPtr, outer, reduce, mid, g.inner);
  } else {
    withTables(wasm, g.keptOffsets, g.reduceOffsets, (kept, red) =>
      k.maskedMeanGradTables(dyPtr, maskPtr, dxPtr, kept, g.keptSize, red, g.reduceSize, g.inner),
    );
  }
  return dx;
};

export const maskedMeanGradWasmConfig: KernelConfig = {
  kernelName: MaskedMeanGrad,
  backendName: 'wasm',
  kernelFunc: maskedMeanGradWasm,
};
