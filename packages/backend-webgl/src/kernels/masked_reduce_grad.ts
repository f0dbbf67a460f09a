import {
  asReduceGradAttrs,
  type MaskedGeometry,
  type MaskedReduceGradInputs,
  type MaskedReduction,
  maskedGeometry,
  type ReducerName,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { GRADIENTS } from '../glsl/reducers.js';
import { packedReduction, packedViews, uploadPacked, usePackedPath } from '../packed.js';
import { flatView, maskedReduce, run, type Scaled } from '../passes.js';
import {
  broadcastInputs,
  MaskedBroadcastPackedProgram,
  MaskedBroadcastProgram,
} from '../programs/broadcast.js';
import {
  PackedMaskedBroadcastProgram,
  packedBroadcastInputs,
} from '../programs/packed_broadcast.js';
import { texelGradient, useTexelPath } from '../texel.js';

/**
 * The gradient kernel's inputs: `dy1` is the cotangent of a second output (moments' variance;
 * docs/SPEC.md "The kernel contract").
 */
type GradInputs = MaskedReduceGradInputs & { dy1?: TensorInfo };

/**
 * Whether dx is written packed: when tfjs packs (WEBGL_PACK) and keeps packed outputs packed
 * (WEBGL_LAZILY_UNPACK, its default under WEBGL_PACK), for x of rank 2 or more.
 */
const packedGradOutput = (xShape: readonly number[]): boolean =>
  xShape.length >= 2 && env().getBool('WEBGL_PACK') && env().getBool('WEBGL_LAZILY_UNPACK');

/** The valid count per output row (a mask-only reduction), left scaled. */
const countStat = (webgl: MathBackendWebGL, g: MaskedGeometry, mask: TensorInfo): Scaled =>
  maskedReduce(webgl, {
    reducer: 'count',
    layout: g.layout,
    keptSize: g.keptSize,
    inner: g.inner,
    reduceSize: g.reduceSize,
    mask,
    keepScaled: true,
  });

/**
 * The gradient kernel of a table row for 'webgl': the statistic the reducer's gradient divides by
 * (mean, moments: valid count per output row, a mask-only reduction; max/min: tied positions per
 * output element, a reduction of [x == y or both NaN] over the same layout; sum, logsumexp: none),
 * then one broadcast pass writing dx = valid ? f(dy, dy1, stat, x, y) : 0.
 */
export function maskedReduceGradKernel(spec: MaskedReduction): KernelFunc {
  const { reducer } = spec;
  const gradient = GRADIENTS[reducer]!;
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, dy1, mask, x, y } = inputs as GradInputs;
    const { axis, xShape } = asReduceGradAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    const g = maskedGeometry(xShape, mask.shape, axis, true);
    if (g.maskSize * g.inner === 0) {
      return webgl.makeTensorInfo(xShape, 'float32', new Float32Array(0));
    }
    if (gradient.readsXY && usePackedPath(webgl, x!, mask, axis)) {
      return packedGradient(webgl, reducer, g, { dy, dy1, mask, x: x!, y: y! }, axis);
    }
    if (useTexelPath(g)) {
      return texelGradient(webgl, reducer, { dy, ...(dy1 ? { dy1 } : {}), mask, x, y }, xShape);
    }
    const temps: TensorInfo[] = [];
    try {
      const maskFlat = flatView(webgl, mask, temps);
      const named: Record<string, TensorInfo> = { dy: flatView(webgl, dy, temps), mask: maskFlat };
      if (gradient.cotangents === 2) named['dy1'] = flatView(webgl, dy1!, temps);
      if (gradient.readsXY) {
        named['x'] = flatView(webgl, x!, temps);
        named['y'] = flatView(webgl, y!, temps);
      }
      let statScale = 1;
      if (gradient.stat !== null) {
        const stat =
          gradient.stat === 'count'
            ? countStat(webgl, g, maskFlat)
            : maskedReduce(webgl, {
                reducer: gradient.stat,
                layout: g.layout,
                keptSize: g.keptSize,
                inner: g.inner,
                reduceSize: g.reduceSize,
                mask: maskFlat,
                x: named['x'],
                y: named['y'],
                keepScaled: true,
              });
        temps.push(stat.out);
        statScale = stat.scale;
        named['stat'] = stat.out;
      }
      const gradInputs = broadcastInputs(gradient).map((name) => named[name]!);
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
 * The gradient of a reducer that reads x and y (max, min, logsumexp, moments) on the packed path's
 * layout: its statistic (the ties by the packed window program, x read packed as the forward pass
 * reads it; the count from the mask, which is small), then a broadcast reading x, the mask, y, the
 * cotangents and the statistic packed and writing dx packed. No pass unpacks x, and each pass
 * reads each texel of x once.
 */
function packedGradient(
  webgl: MathBackendWebGL,
  reducer: ReducerName,
  g: MaskedGeometry,
  inputs: { dy: TensorInfo; dy1?: TensorInfo; mask: TensorInfo; x: TensorInfo; y: TensorInfo },
  axis: readonly number[],
): TensorInfo {
  const { dy, dy1, mask, x, y } = inputs;
  const gradient = GRADIENTS[reducer]!;
  const temps: TensorInfo[] = [];
  try {
    let stat: Scaled | null = null;
    if (gradient.stat === 'count') {
      stat = countStat(webgl, g, flatView(webgl, mask, temps));
      temps.push(stat.out);
    } else if (gradient.stat !== null) {
      stat = packedReduction(webgl, { reducer: gradient.stat, x, mask, y, axis, keepScaled: true });
      temps.push(stat.out);
    }
    uploadPacked(webgl, x);
    uploadPacked(webgl, mask);
    const v = packedViews(x, mask, axis);
    // y, the cotangents and a per-feature statistic as [keptSize, F], the count as [keptSize, 1]
    // (the rows of both are the kept positions in order); tfjs packs or reshapes them first when
    // that is not a free view of their texture (they are small).
    const rows = (t: TensorInfo, cols = v.inner): TensorInfo => ({
      dataId: t.dataId,
      shape: [v.keptSize, cols],
      dtype: 'float32',
    });
    const named: Record<string, TensorInfo> = {
      x: v.xView,
      mask: v.maskView,
      y: rows(y),
      dy: rows(dy),
    };
    if (gradient.cotangents === 2) named['dy1'] = rows(dy1!);
    if (stat) named['stat'] = rows(stat.out, gradient.stat === 'count' ? 1 : v.inner);
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
      packedBroadcastInputs(gradient).map((name) => named[name]!),
    );
    // Only the last two dims (T, F) fix a packed layout: [P, T, F] is a free view of x's shape.
    return { dataId: dx.dataId, shape: x.shape, dtype: 'float32' };
  } finally {
    for (const t of temps) webgl.disposeIntermediateTensorInfo(t);
  }
}

export const maskedReduceGradConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.gradKernelName,
  backendName: 'webgl',
  kernelFunc: maskedReduceGradKernel(spec),
});
