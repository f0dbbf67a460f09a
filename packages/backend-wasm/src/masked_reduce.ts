import {
  asReduceAttrs,
  type MaskedReduceInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { ROWS_PER_PARTIAL } from './generated/wasm_modules.js';
import { CallHeap, heapMemory, offsetOf, type WasmBackendLike } from './heap.js';
import { runsTable } from './layout.js';
import { kernelModule } from './modules.js';
import type { WasmReducer } from './reducers.js';

/**
 * The forward driver of every reducer: one pass over x in place on the wasm heap, writing
 * straight into the output (every element: tfjs does not zero it); a row with several outputs
 * (moments: mean, variance) gets them in its `outputs` order, the kernel the second as `out1` (0
 * when there is none). Contiguous reduced axes go to `reduceBlocks` as three numbers; any other
 * axis set to `reduceRuns` with the runs' sizes and strides (a few int32s on the heap for the
 * call). Sums and means over slices longer than
 * ROWS_PER_PARTIAL also get `inner` f64s of scratch for their float64 accumulator row.
 */
export function maskedReduceKernel(spec: MaskedReduction, reducer: WasmReducer): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo | TensorInfo[] => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const wasm = backend as unknown as WasmBackendLike;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const heap = new CallHeap(wasm, spec.op);
    try {
      const outs = spec.outputs.map(() => heap.allocate(g.outShape, 'float32', 'output'));
      const result = (): TensorInfo | TensorInfo[] => {
        const kept = outs.map((o) => heap.keep(o));
        return kept.length === 1 ? kept[0]! : kept;
      };
      if (g.keptSize * g.inner === 0) return result(); // empty outputs: nothing to write

      const accFloats =
        reducer.accumulates && g.reduceSize > ROWS_PER_PARTIAL ? 2 * g.inner + 1 : 0;
      const runs = g.blocks === null ? runsTable(g.layout) : null;
      let acc = 0;
      let runsAt = 0;
      if (accFloats > 0 || runs !== null) {
        const scratch = heap.allocate([accFloats + (runs?.length ?? 0)], 'float32', 'scratch');
        // f64s at an 8-byte boundary (the extra float above leaves room), the runs after them.
        acc = accFloats > 0 ? (scratch.offset + 7) & ~7 : 0;
        runsAt = scratch.offset + 4 * accFloats;
        if (runs !== null) new Int32Array(heapMemory(wasm).buffer, runsAt, runs.length).set(runs);
      }
      const k = kernelModule(wasm, reducer.module);
      const xAt = offsetOf(wasm, x);
      const maskAt = offsetOf(wasm, mask);
      const out = outs[0]!.offset;
      const out1 = outs[1]?.offset ?? 0;
      if (g.blocks !== null) {
        const { outer, reduce, mid } = g.blocks;
        k.reduceBlocks(reducer.code, xAt, maskAt, out, out1, acc, outer, reduce, mid, g.inner);
      } else {
        k.reduceRuns(reducer.code, xAt, maskAt, out, out1, acc, runsAt, g.inner);
      }
      return result();
    } finally {
      heap.release();
    }
  };
}
