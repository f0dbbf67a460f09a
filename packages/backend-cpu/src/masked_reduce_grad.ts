import {
  asReduceGradAttrs,
  cotangentName,
  type MaskedReduceGradInputs,
  maskedGeometry,
  maskedReduction,
  type ReducerName,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { CPU_GRAD_REDUCERS, type GradData } from './reducers.js';
import { forEachRun } from './runs.js';

/**
 * The gradient kernel of every masked reduction on 'cpu': per output row, the reducer gathers its
 * statistics over the row's runs (count, tie counts), then scatters dx to the valid positions.
 * dx starts zeroed, so masked positions and empty slices are exactly 0. A row with several
 * outputs (moments) gets the cotangent of each (`dy`, `dy1`, ...).
 */
export function maskedReduceGradCpu(reducer: ReducerName): KernelFunc {
  const r = CPU_GRAD_REDUCERS[reducer];
  const cotangents = maskedReduction(reducer).outputs.map((_, i) => cotangentName(i));
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { mask, x, y } = inputs as MaskedReduceGradInputs;
    const { axis, xShape } = asReduceGradAttrs(attrs);
    const cpu = backend as MathBackendCPU;
    const g = maskedGeometry(xShape, mask.shape, axis, true);
    const values = (t: TensorInfo | undefined) =>
      t === undefined ? undefined : (cpu.data.get(t.dataId).values as Float32Array);
    const d: GradData = {
      dx: new Float32Array(g.maskSize * g.inner),
      dys: cotangents.map((name) => values(inputs[name])!),
      valid: cpu.data.get(mask.dataId).values as Uint8Array,
      xs: values(x),
      ys: values(y),
      inner: g.inner,
    };
    const st = new Float64Array(Math.max(1, g.inner));
    for (let o = 0; o < g.keptSize; o++) {
      st.fill(0);
      forEachRun(g.layout, o, (start, n, stride) => r.gather(st, d, o, start, n, stride));
      forEachRun(g.layout, o, (start, n, stride) => r.scatter(st, d, o, start, n, stride));
    }
    return cpu.makeTensorInfo(xShape, 'float32', d.dx);
  };
}
