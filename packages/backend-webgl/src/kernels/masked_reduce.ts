import {
  asReduceAttrs,
  type MaskedReduceInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { packedMaskedReduce, usePackedPath } from '../packed.js';
import { flatView, maskedReduce } from '../passes.js';

/**
 * The forward kernel of a table row for 'webgl': the mask is read in the same shader as x, no
 * transpose and no x-sized temporary. A packed x in the [..., time, features] layout reduced over
 * time is read packed (packed.ts); other layouts of a packed x are unpacked first.
 */
export function maskedReduceKernel(spec: MaskedReduction): KernelFunc {
  const { reducer } = spec;
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const outSize = g.keptSize * g.inner;
    if (outSize === 0 || g.reduceSize === 0) {
      // Nothing to read: an empty result, or slices with no element (exactly the empty value 0).
      return webgl.makeTensorInfo(g.outShape, 'float32', new Float32Array(outSize));
    }
    if (usePackedPath(webgl, x, mask, axis)) {
      return packedMaskedReduce(webgl, reducer, x, mask, axis, g.outShape);
    }
    const temps: TensorInfo[] = [];
    try {
      const { out } = maskedReduce(webgl, {
        reducer,
        layout: g.layout,
        keptSize: g.keptSize,
        inner: g.inner,
        reduceSize: g.reduceSize,
        mask: flatView(webgl, mask, temps),
        x: flatView(webgl, x, temps),
      });
      // The flat result is unpacked, so any shape of the same size is a free view of it.
      return { dataId: out.dataId, shape: g.outShape, dtype: 'float32' };
    } finally {
      for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
    }
  };
}

export const maskedReduceConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.kernelName,
  backendName: 'webgl',
  kernelFunc: maskedReduceKernel(spec),
});
