import {
  asReduceAttrs,
  type MaskedReduceInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { packedMaskedReduce, usePackedPath } from '../packed.js';
import { flatView, forwardStages, maskedReduce } from '../passes.js';
import { texelMaskedReduce, useTexelPath } from '../texel.js';

/**
 * The forward kernel of a table row for 'webgl': the mask is read in the same shader as x, no
 * transpose and no x-sized temporary. A packed x in the [..., time, features] layout reduced over
 * time is read packed (packed.ts); a reduction of every position of x with a mask of its shape
 * (the per-token-loss form) walks the textures in texel order, packed or not (texel.ts); other
 * layouts of a packed x are unpacked first. A composed
 * reducer (logsumexp, moments) runs its two stages (passes.ts forwardStages); a row with several
 * outputs (moments) returns them in the row's order.
 */
export function maskedReduceKernel(spec: MaskedReduction): KernelFunc {
  const { reducer } = spec;
  const single = spec.outputs.length === 1;
  return ({ inputs, backend, attrs }): TensorInfo | TensorInfo[] => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const outSize = g.keptSize * g.inner;
    let results: TensorInfo[];
    if (outSize === 0 || g.reduceSize === 0) {
      // Nothing to read: an empty result, or slices with no element (exactly the empty values).
      results = spec.emptyValues.map((v) =>
        webgl.makeTensorInfo(g.outShape, 'float32', new Float32Array(outSize).fill(v)),
      );
    } else if (usePackedPath(webgl, x, mask, axis)) {
      results = packedMaskedReduce(webgl, reducer, x, mask, axis, g.outShape);
    } else if (useTexelPath(g)) {
      results = texelMaskedReduce(webgl, reducer, x, mask, g.outShape);
    } else {
      const temps: TensorInfo[] = [];
      try {
        const common = {
          layout: g.layout,
          keptSize: g.keptSize,
          inner: g.inner,
          reduceSize: g.reduceSize,
          mask: flatView(webgl, mask, temps),
          x: flatView(webgl, x, temps),
        };
        // A stage's result is flat and unpacked: the next stage reads it as flat y.
        results = forwardStages(
          webgl,
          reducer,
          (stage, y) => maskedReduce(webgl, { ...common, reducer: stage, y }).out,
        ).map((out) => ({ dataId: out.dataId, shape: g.outShape, dtype: 'float32' as const }));
      } finally {
        for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
      }
    }
    return single ? results[0]! : results;
  };
}

export const maskedReduceConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.kernelName,
  backendName: 'webgl',
  kernelFunc: maskedReduceKernel(spec),
});
