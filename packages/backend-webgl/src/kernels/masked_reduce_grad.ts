import {
  asReduceGradAttrs,
  type MaskedReduceGradInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { GRADIENTS } from '../glsl/reducers.js';
import { flatView, maskedReduce, run } from '../passes.js';
import { MaskedBroadcastPackedProgram, MaskedBroadcastProgram } from '../programs/broadcast.js';

/**
 * Whether dx is written packed: when tfjs packs (WEBGL_PACK) and keeps packed outputs packed
 * (WEBGL_LAZILY_UNPACK, its default under WEBGL_PACK), for x of rank 2 or more.
 */
const packedGradOutput = (xShape: readonly number[]): boolean =>
  xShape.length >= 2 && env().getBool('WEBGL_PACK') && env().getBool('WEBGL_LAZILY_UNPACK');

/**
 * The gradient kernel of a table row for 'webgl': the statistic the reducer's gradient divides by
 * (mean: valid count per output row, a mask-only reduction; max/min: tied positions per output
 * element, a reduction of [x == y] over the same layout; sum: none), then one broadcast pass
 * writing dx = valid ? f(dy, stat, x, y) : 0.
 */
export function maskedReduceGradKernel(spec: MaskedReduction): KernelFunc {
  const { reducer } = spec;
  const gradient = GRADIENTS[reducer]!;
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, mask, x, y } = inputs as MaskedReduceGradInputs;
    const { axis, xShape } = asReduceGradAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    const g = maskedGeometry(xShape, mask.shape, axis, true);
    if (g.maskSize * g.inner === 0) {
      return webgl.makeTensorInfo(xShape, 'float32', new Float32Array(0));
    }
    const temps: TensorInfo[] = [];
    try {
      const maskFlat = flatView(webgl, mask, temps);
      const gradInputs = [flatView(webgl, dy, temps), maskFlat];
      let statScale = 1;
      if (gradient.stat !== null) {
        const xy = gradient.readsXY
          ? { x: flatView(webgl, x!, temps), y: flatView(webgl, y!, temps) }
          : {};
        const stat = maskedReduce(webgl, {
          reducer: gradient.stat,
          layout: g.layout,
          keptSize: g.keptSize,
          inner: g.inner,
          reduceSize: g.reduceSize,
          mask: maskFlat,
          ...xy,
          keepScaled: true,
        });
        temps.push(stat.out);
        statScale = stat.scale;
        gradInputs.push(stat.out);
        if (xy.x && xy.y) gradInputs.push(xy.x, xy.y);
      } else if (gradient.readsXY) {
        gradInputs.push(flatView(webgl, x!, temps), flatView(webgl, y!, temps));
      }
      const common = { reducer, layout: g.layout, inner: g.inner, statScale };
      if (packedGradOutput(xShape)) {
        // A packed dx, as tfjs's own packed ops write it: 2x2 values per invocation.
        const rank = xShape.length;
        const xView: [number, number, number] = [
          xShape.slice(0, -2).reduce((p, d) => p * d, 1),
          xShape[rank - 2]!,
          xShape[rank - 1]!,
        ];
        const dx = run(webgl, new MaskedBroadcastPackedProgram({ ...common, xView }), gradInputs);
        // Only the last two dims fix a packed layout: [P, R, C] is a free view of xShape (and if
        // tfjs unpacked the output eagerly, the flat unpacked texture is one too).
        return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
      }
      const dx = run(
        webgl,
        new MaskedBroadcastProgram({ ...common, maskSize: g.maskSize }),
        gradInputs,
      );
      return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
    } finally {
      for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
    }
  };
}

export const maskedReduceGradConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.gradKernelName,
  backendName: 'webgl',
  kernelFunc: maskedReduceGradKernel(spec),
});
