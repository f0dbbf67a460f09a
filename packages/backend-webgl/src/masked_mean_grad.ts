import {
  asMaskedMeanGradAttrs,
  MaskedMeanGrad,
  type MaskedMeanGradInputs,
  maskedMeanGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { maskLayout } from './layout.js';
import { MaskedMeanGradPackedProgram } from './packed_programs.js';
import { MaskedMeanGradProgram } from './programs.js';
import { flatView, maskedCounts, run } from './reduce.js';

/**
 * Whether dx is written packed: when tfjs packs (WEBGL_PACK) and keeps packed outputs packed
 * (WEBGL_LAZILY_UNPACK, its default under WEBGL_PACK), for x of rank 2 or more.
 */
const packedGradOutput = (xShape: readonly number[]): boolean =>
  xShape.length >= 2 && env().getBool('WEBGL_PACK') && env().getBool('WEBGL_LAZILY_UNPACK');

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
    const gradInputs = [flatView(webgl, dy, temps), counts, maskFlat];
    if (packedGradOutput(xShape)) {
      // A packed dx, as tfjs's own packed ops write it: 2x2 values per invocation.
      const rank = xShape.length;
      const xView: [number, number, number] = [
        xShape.slice(0, -2).reduce((p, d) => p * d, 1),
        xShape[rank - 2]!,
        xShape[rank - 1]!,
      ];
      const program = new MaskedMeanGradPackedProgram({
        layout,
        xView,
        inner: g.inner,
        countScale: scale,
      });
      const dx = run(webgl, program, gradInputs);
      // Only the last two dims fix a packed layout: [P, R, C] is a free view of xShape (and if
      // tfjs unpacked the output eagerly, the flat unpacked texture is one too).
      return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
    }
    const program = new MaskedMeanGradProgram({
      layout,
      maskSize,
      inner: g.inner,
      countScale: scale,
    });
    const dx = run(webgl, program, gradInputs);
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
