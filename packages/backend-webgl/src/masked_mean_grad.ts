import {
  asMaskedMeanGradAttrs,
  MaskedMeanGrad,
  type MaskedMeanGradInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { maskLayout } from './layout.js';
import { MaskedMeanGradProgram } from './programs.js';
import { flatView, maskedCounts, run } from './reduce.js';

/**
 * MaskedMeanGrad for 'webgl': the valid count of each output row (a mask-only reduction, a
 * tensor of the output's size), then one pass writing dx = valid ? dy / count : 0.
 */
export const maskedMeanGradWebGL: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { dy, mask } = inputs as MaskedMeanGradInputs;
  const { axis, xShape } = asMaskedMeanGradAttrs(attrs);
  const webgl = backend as MathBackendWebGL;
  const g = maskedMeanGeometry(xShape, mask.shape, axis, true);
  const maskSize = mask.shape.reduce((p, d) => p * d, 1);
  if (maskSize * g.inner === 0) {
    return webgl.makeTensorInfo(xShape, 'float32', new Float32Array(0));
  }
  const layout = maskLayout(mask.shape, axis);
  const temps: TensorInfo[] = [];
  try {
    const maskFlat = flatView(webgl, mask, temps);
    const { counts, scale } = maskedCounts(webgl, {
      layout,
      keptSize: g.keptSize,
      reduceSize: g.reduceSize,
      mask: maskFlat,
    });
    temps.push(counts);
    const program = new MaskedMeanGradProgram({
      layout,
      maskSize,
      inner: g.inner,
      countScale: scale,
    });
    const dx = run(webgl, program, [flatView(webgl, dy, temps), counts, maskFlat]);
    return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
  } finally {
    for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
  }
};

export const maskedMeanGradWebGLConfig: KernelConfig = {
  kernelName: MaskedMeanGrad,
  backendName: 'webgl',
  kernelFunc: maskedMeanGradWebGL,
};
