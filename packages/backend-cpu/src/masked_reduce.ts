import {
  asReduceAttrs,
  type MaskedReduceInputs,
  maskedGeometry,
  type ReducerName,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { CPU_REDUCERS } from './reducers.js';
import { forEachRun } from './runs.js';

/**
 * The forward kernel of every masked reduction on 'cpu': one pass over x, no transpose and no
 * x-sized temporary (tfjs's own cpu reductions transpose first). Each output row folds its valid
 * rows into a float64 accumulator of `inner` values, then the reducer finishes it.
 */
export function maskedReduceCpu(reducer: ReducerName): KernelFunc {
  const r = CPU_REDUCERS[reducer];
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const cpu = backend as MathBackendCPU;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const xs = cpu.data.get(x.dataId).values as Float32Array;
    const valid = cpu.data.get(mask.dataId).values as Uint8Array;
    const { inner, keptSize } = g;
    const out = new Float32Array(keptSize * inner); // zero-filled: empty slices stay 0
    const acc = new Float64Array(inner);
    for (let o = 0; o < keptSize; o++) {
      r.init(acc);
      let count = 0;
      forEachRun(g.layout, o, (start, n, stride) => {
        count += r.fold(acc, xs, valid, start, n, stride, inner);
      });
      r.finish(acc, count, out, o * inner, inner);
    }
    return cpu.makeTensorInfo(g.outShape, 'float32', out);
  };
}
