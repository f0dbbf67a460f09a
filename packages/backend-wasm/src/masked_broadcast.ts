import {
  asReduceGradAttrs,
  type MaskedReduceGradInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { CallHeap, heapMemory, offsetOf, type WasmBackendLike } from './heap.js';
import { runsTable } from './layout.js';
import { kernelModule } from './modules.js';
import type { WasmReducer } from './reducers.js';

/**
 * The gradient driver of every reducer: dx = valid ? dy / d : 0 (d per reducer), or a formula of
 * dy, x and y at the valid positions (logsumexp, moments; see assembly/broadcast.ts), every
 * element of dx written in place on the wasm heap. Extrema read x and the forward output y
 * (keepDims layout) to find the tied positions. A row with several outputs (moments) also gets
 * the cotangent of its second output as `dy1` (keepDims layout); y is its first output.
 */
export function maskedBroadcastKernel(spec: MaskedReduction, reducer: WasmReducer): KernelFunc {
  const needsXY = spec.gradInputs.length > 0;
  const needsDy1 = spec.outputs.length > 1;
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, mask, x, y } = inputs as MaskedReduceGradInputs;
    const { dy1 } = inputs as { dy1?: TensorInfo };
    const { axis, xShape } = asReduceGradAttrs(attrs);
    const wasm = backend as unknown as WasmBackendLike;
    if (needsXY && (x === undefined || y === undefined)) {
      // The kernel would read address 0 instead: refuse rather than return garbage.
      throw new Error(`${spec.gradKernelName}: inputs x and y are required`);
    }
    if (needsDy1 && dy1 === undefined) {
      throw new Error(`${spec.gradKernelName}: input dy1 is required`);
    }
    const g = maskedGeometry(xShape, mask.shape, axis, true);
    const heap = new CallHeap(wasm, spec.op);
    try {
      const dx = heap.allocate(xShape, 'float32', 'gradient');
      if (g.keptSize * g.reduceSize * g.inner === 0) return heap.keep(dx); // dx is empty

      const k = kernelModule(wasm, 'broadcast');
      const dyAt = offsetOf(wasm, dy);
      const dy1At = needsDy1 ? offsetOf(wasm, dy1!) : 0;
      const maskAt = offsetOf(wasm, mask);
      const xAt = needsXY ? offsetOf(wasm, x!) : 0;
      const yAt = needsXY ? offsetOf(wasm, y!) : 0;
      if (g.blocks !== null) {
        const { outer, reduce, mid } = g.blocks;
        k.broadcastBlocks(
          reducer.code,
          dyAt,
          dy1At,
          maskAt,
          xAt,
          yAt,
          dx.offset,
          outer,
          reduce,
          mid,
          g.inner,
        );
      } else {
        const runs = runsTable(g.layout);
        const table = heap.allocate([runs.length], 'int32', 'scratch');
        new Int32Array(heapMemory(wasm).buffer, table.offset, runs.length).set(runs);
        k.broadcastRuns(
          reducer.code,
          dyAt,
          dy1At,
          maskAt,
          xAt,
          yAt,
          dx.offset,
          table.offset,
          g.inner,
        );
      }
      return heap.keep(dx);
    } finally {
      heap.release();
    }
  };
}
