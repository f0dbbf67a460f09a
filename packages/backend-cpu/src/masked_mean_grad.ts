import {
  asMaskedMeanGradAttrs,
  MaskedMeanGrad,
  type MaskedMeanGradInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/** dx = valid ? dy / count : 0, written in one pass over dx after counting each row's mask. */
export const maskedMeanGradCpu: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { dy, mask } = inputs as MaskedMeanGradInputs;
  const { axis, xShape } = asMaskedMeanGradAttrs(attrs);
  const cpu = backend as MathBackendCPU;
  const g = maskedMeanGeometry(xShape, mask.shape, axis, true);
  const dys = cpu.data.get(dy.dataId).values as Float32Array;
  const valid = cpu.data.get(mask.dataId).values as Uint8Array;
  const { inner, keptSize, reduceSize, keptOffsets, reduceOffsets } = g;
  const dx = new Float32Array(mask.shape.reduce((p, d) => p * d, 1) * inner); // masked stay 0

  for (let o = 0; o < keptSize; o++) {
    const rowStart = keptOffsets[o]!;
    let count = 0;
    for (let t = 0; t < reduceSize; t++) if (valid[rowStart + reduceOffsets[t]!] !== 0) count++;
    if (count === 0) continue;
    const dyBase = o * inner;
    for (let t = 0; t < reduceSize; t++) {
      const m = rowStart + reduceOffsets[t]!;
      if (valid[m] === 0) continue;
      const base = m * inner;
      for (let f = 0; f < inner; f++) dx[base + f] = dys[dyBase + f]! / count;
    }
  }
  return cpu.makeTensorInfo(xShape, 'float32', dx);
};

export const maskedMeanGradCpuConfig: KernelConfig = {
  kernelName: MaskedMeanGrad,
  backendName: 'cpu',
  kernelFunc: maskedMeanGradCpu,
};
