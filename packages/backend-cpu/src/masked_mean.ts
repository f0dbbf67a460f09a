import {
  asMaskedMeanAttrs,
  MaskedMean,
  type MaskedMeanInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * One pass over x, no transpose and no x-sized temporary (tfjs's own cpu Mean transposes first).
 * Each output row accumulates its valid input rows into a float64 scratch row of `inner` values,
 * which keeps the sum exact enough that the float32 result is rounded only once.
 */
export const maskedMeanCpu: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { x, mask } = inputs as MaskedMeanInputs;
  const { axis, keepDims } = asMaskedMeanAttrs(attrs);
  const cpu = backend as MathBackendCPU;
  const g = maskedMeanGeometry(x.shape, mask.shape, axis, keepDims);
  const xs = cpu.data.get(x.dataId).values as Float32Array;
  const valid = cpu.data.get(mask.dataId).values as Uint8Array;
  const { inner, keptSize, reduceSize, keptOffsets, reduceOffsets } = g;
  const out = new Float32Array(keptSize * inner); // zero-filled: rows with no valid element stay 0
  const acc = new Float64Array(inner);

  for (let o = 0; o < keptSize; o++) {
    const rowStart = keptOffsets[o]!;
    let count = 0;
    acc.fill(0);
    for (let t = 0; t < reduceSize; t++) {
      const m = rowStart + reduceOffsets[t]!;
      if (valid[m] === 0) continue; // selection, not multiplication: NaN/Inf here never leak
      count++;
      const base = m * inner;
      for (let f = 0; f < inner; f++) acc[f]! += xs[base + f]!;
    }
    if (count === 0) continue;
    const outBase = o * inner;
    for (let f = 0; f < inner; f++) out[outBase + f] = acc[f]! / count;
  }
  return cpu.makeTensorInfo(g.outShape, 'float32', out);
};

export const maskedMeanCpuConfig: KernelConfig = {
  kernelName: MaskedMean,
  backendName: 'cpu',
  kernelFunc: maskedMeanCpu,
};
