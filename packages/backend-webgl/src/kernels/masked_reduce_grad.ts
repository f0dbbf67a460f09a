import {
  asReduceGradAttrs,
  type MaskedReduceGradInputs,
  type MaskedReduction,
  maskedGeometry,
  type ReducerName,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { GRADIENTS } from '../glsl/reducers.js';
import { packedReduction, packedViews, uploadPacked, usePackedPath } from '../packed.js';
import { flatView, maskedReduce, run } from '../passes.js';
import { MaskedBroadcastPackedProgram, MaskedBroadcastProgram } from '../programs/broadcast.js';
import { PackedMaskedBroadcastProgram } from '../programs/packed_broadcast.js';

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
    if (gradient.readsXY && usePackedPath(webgl, x!, mask, axis)) {
      return packedGradient(webgl, reducer, { dy, mask, x: x!, y: y! }, axis);
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

/**
 * The gradient of a reducer that reads x and y (max, min) on the packed path's layout: the ties
 * statistic by the packed window program (x read packed, as the forward pass reads it), then a
 * broadcast reading x, the mask, y, dy and the ties packed and writing dx packed. No pass
 * unpacks x, and each pass reads each texel of x once.
 */
function packedGradient(
  webgl: MathBackendWebGL,
  reducer: ReducerName,
  inputs: { dy: TensorInfo; mask: TensorInfo; x: TensorInfo; y: TensorInfo },
  axis: readonly number[],
): TensorInfo {
  const { dy, mask, x, y } = inputs;
  const gradient = GRADIENTS[reducer]!;
  const stat =
    gradient.stat === null
      ? null
      : packedReduction(webgl, { reducer: gradient.stat, x, mask, y, axis, keepScaled: true });
  try {
    uploadPacked(webgl, x);
    uploadPacked(webgl, mask);
    const v = packedViews(x, mask, axis);
    // y, dy and the statistic as [keptSize, F]; tfjs packs or reshapes them first when that is
    // not a free view of their texture (they are small).
    const rows = (t: TensorInfo): TensorInfo => ({
      dataId: t.dataId,
      shape: [v.keptSize, v.inner],
      dtype: 'float32',
    });
    const dx = run(
      webgl,
      new PackedMaskedBroadcastProgram({
        reducer,
        layout: v.layout,
        xView: [v.xView.shape.length === 3 ? v.xView.shape[0]! : 1, v.rowLen, v.inner],
        xRank: v.xView.shape.length,
        maskRank: v.maskView.shape.length,
        maskRows: v.maskRows,
        statScale: stat?.scale ?? 1,
      }),
      [v.xView, v.maskView, rows(y), rows(dy), ...(stat ? [rows(stat.out)] : [])],
    );
    // Only the last two dims (T, F) fix a packed layout: [P, T, F] is a free view of x's shape.
    return { dataId: dx.dataId, shape: x.shape, dtype: 'float32' };
  } finally {
    if (stat) webgl.disposeIntermediateTensorInfo(stat.out);
  }
}

export const maskedReduceGradConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.gradKernelName,
  backendName: 'webgl',
  kernelFunc: maskedReduceGradKernel(spec),
});
