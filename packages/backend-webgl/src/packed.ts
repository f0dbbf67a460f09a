import { type MaskLayout, maskLayout, type ReducerName } from '@masked-ops/core';
import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import { env, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WindowReducerName } from './glsl/reducers.js';
import { combinePartials, flatView, forwardStages, run, type Scaled } from './passes.js';
import { MAX_WINDOW } from './programs/base.js';
import { combineReadsY } from './programs/combine.js';
import { MAX_STEPS, PackedMaskedWindowProgram } from './programs/packed_window.js';

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);
const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/**
 * Whether a forward kernel can read x in its packed layout: x is [..., T, F] with the mask
 * covering every dim but the last (the Keras [batch, time, features] layout and its higher-rank
 * forms), the mask's last dim (T) is reduced, and x is in a packed texture already, or still on
 * the CPU while tfjs packs by default (WEBGL_PACK), in which case it is uploaded packed (as tfjs
 * does for any packed program). Anything else takes the unpacked path.
 */
export function usePackedPath(
  backend: MathBackendWebGL,
  x: TensorInfo,
  mask: TensorInfo,
  axis: readonly number[],
): boolean {
  const k = mask.shape.length;
  if (x.shape.length < 2 || k !== x.shape.length - 1 || !axis.includes(k - 1)) return false;
  const data = backend.texData.get(x.dataId);
  if (data.texture != null) return data.isPacked === true;
  return data.values != null && data.slice == null && env().getBool('WEBGL_PACK');
}

/** Marks a tensor that is still on the CPU as packed and uploads it (no-op once on the GPU). */
export function uploadPacked(backend: MathBackendWebGL, t: TensorInfo): void {
  const data = backend.texData.get(t.dataId);
  if (data.texture == null && data.values != null && data.slice == null) {
    data.isPacked = true;
    backend.uploadToGPU(t.dataId);
  }
}

/** How the packed path sees x [..., T, F] and the mask [..., T] (T reduced). */
export interface PackedViews {
  /** Layout of the mask's leading dims (all but T); its strides count "p" positions. */
  layout: MaskLayout;
  keptSize: number;
  /** F. */
  inner: number;
  /** T. */
  rowLen: number;
  /** The mask's second-to-last dim (1 for a 1-D mask): the rows of the mask's texels. */
  maskRows: number;
  /** x as [P, T, F] ([T, F] when P = 1), P the leading positions: a free view. */
  xView: TensorInfo;
  /** The mask as [Q, S, T] ([S, T] when Q = 1; S = maskRows): a free view. */
  maskView: TensorInfo;
}

export function packedViews(x: TensorInfo, mask: TensorInfo, axis: readonly number[]): PackedViews {
  const k = mask.shape.length;
  const rowLen = mask.shape[k - 1]!;
  const inner = x.shape[k]!;
  const leading = mask.shape.slice(0, k - 1);
  const layout = maskLayout(
    leading,
    axis.filter((a) => a < k - 1),
  );
  const maskRows = k >= 2 ? mask.shape[k - 2]! : 1;
  // Only the last two dims fix a packed layout, so these views share the textures. A leading 1
  // is dropped (see packedTexels: tfjs's shader key misses how it samples [1, R, C]).
  const view = (lead: number, rows: number, cols: number) =>
    lead === 1 ? [rows, cols] : [lead, rows, cols];
  return {
    layout,
    keptSize: product(layout.kept.map((r) => r.size)),
    inner,
    rowLen,
    maskRows,
    xView: { dataId: x.dataId, shape: view(product(leading), rowLen, inner), dtype: 'float32' },
    maskView: {
      dataId: mask.dataId,
      shape: view(product(mask.shape.slice(0, -2)), maskRows, rowLen),
      dtype: mask.dtype,
    },
  };
}

export interface PackedReduction {
  reducer: WindowReducerName;
  x: TensorInfo;
  mask: TensorInfo;
  /**
   * The per-output y of a reducer of a term of x and y (the forward output for the ties
   * statistic, the first stage's result for a second stage), any shape of keptSize * F values.
   */
  y?: TensorInfo;
  axis: readonly number[];
  /** As in FlatReduction: leave a sum-like result scaled, the caller multiplies by `scale`. */
  keepScaled?: boolean;
}

/**
 * A masked reduction over a packed x, no unpacking pass. `out` holds the [keptSize, F] results:
 * packed from a single pass, flat and unpacked after combine passes (any shape of that size is a
 * free view of it then). The caller owns `out`; every intermediate is disposed here.
 */
export function packedReduction(backend: MathBackendWebGL, r: PackedReduction): Scaled {
  const { reducer, x, mask, axis } = r;
  const keepScaled = r.keepScaled ?? false;
  uploadPacked(backend, x);
  uploadPacked(backend, mask);
  const { layout, keptSize, inner, rowLen, maskRows, xView, maskView } = packedViews(x, mask, axis);
  const reducedLeading = product(layout.reduced.map((r) => r.size));
  const totalSteps = reducedLeading * Math.ceil(rowLen / 2);
  const inputs = [xView, maskView];
  // y as [keptSize, F]; tfjs reshapes or packs it first when that is not a free view (it is small).
  if (r.y) inputs.push({ dataId: r.y.dataId, shape: [keptSize, inner], dtype: 'float32' });
  const spec = {
    reducer,
    layout,
    keptSize,
    inner,
    rowLen,
    maskRows,
    totalSteps,
    xRank: xView.shape.length,
    maskRank: maskView.shape.length,
  };
  if (totalSteps <= MAX_STEPS) {
    // Each texel row pair holds up to two positions: the scale covers 2 * totalSteps of them.
    const scale = 1 / nextPowerOfTwo(2 * totalSteps);
    const out = run(
      backend,
      new PackedMaskedWindowProgram({
        ...spec,
        windows: 1,
        windowSteps: totalSteps,
        scale,
        outScale: keepScaled ? 1 : 1 / scale,
        final: true,
      }),
      inputs,
    );
    return { out, scale: keepScaled ? 1 / scale : 1 };
  }
  const windows = Math.ceil(totalSteps / MAX_STEPS);
  const packedPartials = run(
    backend,
    new PackedMaskedWindowProgram({
      ...spec,
      windows,
      windowSteps: MAX_STEPS,
      scale: 1 / MAX_WINDOW,
      outScale: 1,
      final: false,
    }),
    inputs,
  );
  // The partials are small (one row per window of up to MAX_WINDOW positions): unpacked, they
  // are the flat [keptSize, windows, F + 1] array the combine passes read.
  let source = packedPartials;
  if (backend.texData.get(packedPartials.dataId).isPacked) {
    source = backend.unpackTensor(packedPartials);
    backend.disposeIntermediateTensorInfo(packedPartials);
  }
  const partials = {
    dataId: source.dataId,
    shape: [product(source.shape)],
    dtype: 'float32' as const,
  };
  // The final combine pass of a reducer finishing with y reads it flat (unpacked if packed).
  const temps: TensorInfo[] = [];
  try {
    return combinePartials(backend, {
      reducer,
      partials, // disposed by combinePartials
      windows,
      keptSize,
      inner,
      scale: 1 / MAX_WINDOW,
      keepScaled,
      ...(combineReadsY(reducer, true) ? { y: flatView(backend, r.y!, temps) } : {}),
    });
  } finally {
    for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  }
}

/**
 * The forward kernel's packed path: the row's results (forwardStages; a second stage reads the
 * first's packed result as y), each a tensor of `outShape`, packed when that is a free view of the
 * packed [keptSize, F] result, else unpacked (a pass over the small output only).
 */
export function packedMaskedReduce(
  backend: MathBackendWebGL,
  reducer: ReducerName,
  x: TensorInfo,
  mask: TensorInfo,
  axis: readonly number[],
  outShape: number[],
): TensorInfo[] {
  const results = forwardStages(
    backend,
    reducer,
    (stage, y) => packedReduction(backend, { reducer: stage, x, mask, y, axis }).out,
  );
  return results.map((result) => asOutput(backend, result, outShape));
}

function asOutput(backend: MathBackendWebGL, result: TensorInfo, outShape: number[]): TensorInfo {
  if (!backend.texData.get(result.dataId).isPacked) {
    // Flat and unpacked (combine passes; or tfjs unpacked eagerly): any shape is a free view.
    return { dataId: result.dataId, shape: outShape, dtype: 'float32' };
  }
  if (webgl_util.isReshapeFree(result.shape, outShape)) {
    return { dataId: result.dataId, shape: outShape, dtype: 'float32' };
  }
  const unpacked = backend.unpackTensor(result);
  backend.disposeIntermediateTensorInfo(result);
  return { dataId: unpacked.dataId, shape: outShape, dtype: 'float32' };
}
