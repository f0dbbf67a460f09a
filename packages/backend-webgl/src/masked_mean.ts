import {
  asMaskedMeanAttrs,
  MaskedMean,
  type MaskedMeanInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { maskLayout } from './layout.js';
import { packedMaskedMeans, usePackedPath } from './packed.js';
import { flatView, maskedMeans } from './reduce.js';

/**
 * MaskedMean for 'webgl': the mask is read in the same shader as x, no transpose and no x-sized
 * temporary. A packed x in the [..., time, features] layout reduced over time is read packed
 * (packed.ts); other layouts of a packed x are unpacked first. See reduce.ts for the passes.
 */
export const maskedMeanWebGL: KernelFunc = ({ inputs, backend, attrs }): TensorInfo => {
  const { x, mask } = inputs as MaskedMeanInputs;
  const { axis, keepDims } = asMaskedMeanAttrs(attrs);
  const webgl = backend as MathBackendWebGL;
  const g = maskedMeanGeometry(x.shape, mask.shape, axis, keepDims);
  const outSize = g.keptSize * g.inner;
  if (outSize === 0 || g.reduceSize === 0) {
    // Nothing to read: an empty result, or rows with no element at all (exactly 0). No shader.
    return webgl.makeTensorInfo(g.outShape, 'float32', new Float32Array(outSize));
  }
  if (usePackedPath(webgl, x, mask, axis)) {
    // x in a packed texture (what tfjs's packed ops produce): read as is, no unpacking pass.
    return packedMaskedMeans(webgl, x, mask, axis, g.outShape);
  }
  const temps: TensorInfo[] = [];
  try {
    const means = maskedMeans(
      webgl,
      {
        layout: maskLayout(mask.shape, axis),
        keptSize: g.keptSize,
        inner: g.inner,
        reduceSize: g.reduceSize,
        mask: flatView(webgl, mask, temps),
      },
      flatView(webgl, x, temps),
    );
    // The flat result is unpacked, so any shape of the same size is a free view of it.
    return { dataId: means.dataId, shape: g.outShape, dtype: 'float32' };
  } finally {
    for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
  }
};

export const maskedMeanWebGLConfig: KernelConfig = {
  kernelName: MaskedMean,
  backendName: 'webgl',
  kernelFunc: maskedMeanWebGL,
};
