import {
  asReduceAttrs,
  type MaskedReduceInputs,
  maskedGeometry,
  maskedReduction,
  type ReducerName,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { CPU_REDUCERS } from './reducers.js';
import { forEachRun } from './runs.js';

/**
 * The forward kernel of every masked reduction on 'cpu': one pass over x, no transpose and no
 * x-sized temporary (tfjs's own cpu reductions transpose first). Each output row folds its valid
 * rows into a float64 accumulator (`width` values per column of `inner`), then the reducer
 * finishes it into every output of the table row (moments: mean and variance). A row with no
 * valid element keeps the table's empty values.
 */
export function maskedReduceCpu(reducer: ReducerName): KernelFunc {
  const r = CPU_REDUCERS[reducer];
  const { emptyValues } = maskedReduction(reducer);
  return ({ inputs, backend, attrs }): TensorInfo | TensorInfo[] => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const cpu = backend as MathBackendCPU;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const xs = cpu.data.get(x.dataId).values as Float32Array;
    const valid = cpu.data.get(mask.dataId).values as Uint8Array;
    const { inner, keptSize } = g;
    const outs = emptyValues.map((empty) => {
      const out = new Float32Array(keptSize * inner); // zero-filled
      return empty === 0 ? out : out.fill(empty);
    });
    const acc = new Float64Array(r.width * inner);
    for (let o = 0; o < keptSize; o++) {
      r.init(acc, inner);
      let count = 0;
      forEachRun(g.layout, o, (start, n, stride) => {
        count += r.fold(acc, xs, valid, start, n, stride, inner, count);
      });
      if (count > 0) r.finish(acc, count, outs, o * inner, inner);
    }
    const infos = outs.map((out) => cpu.makeTensorInfo(g.outShape, 'float32', out));
    return infos.length === 1 ? infos[0]! : infos;
  };
}
