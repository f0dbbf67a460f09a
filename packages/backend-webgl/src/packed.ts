import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import { env, type TensorInfo } from '@tensorflow/tfjs-core';
import { maskLayout } from './layout.js';
import { MAX_STEPS, PackedMaskedWindowProgram } from './packed_programs.js';
import { MAX_WINDOW } from './programs.js';
import { combinePartials, run } from './reduce.js';

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * Whether MaskedMean can read x in its packed layout: x is [..., T, F] with the mask covering
 * every dim but the last (the Keras [batch, time, features] layout and its higher-rank forms),
 * the mask's last dim (T) is reduced, and x is in a packed texture already, or still on the CPU
 * while tfjs packs by default (WEBGL_PACK), in which case it is uploaded packed (as tfjs does for
 * any packed program). Anything else takes the unpacked path.
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
function uploadPacked(backend: MathBackendWebGL, t: TensorInfo): void {
  const data = backend.texData.get(t.dataId);
  if (data.texture == null && data.values != null && data.slice == null) {
    data.isPacked = true;
    backend.uploadToGPU(t.dataId);
  }
}

/**
 * Masked means over a packed x, no unpacking pass. Returns a tensor of `outShape`: packed when
 * that is a free view of the packed [keptSize, F] result, else unpacked (a pass over the small
 * output only). The caller owns the result; every intermediate is disposed here.
 */
export function packedMaskedMeans(
  backend: MathBackendWebGL,
  x: TensorInfo,
  mask: TensorInfo,
  axis: readonly number[],
  outShape: number[],
): TensorInfo {
  uploadPacked(backend, x);
  uploadPacked(backend, mask);
  const k = mask.shape.length;
  const rowLen = mask.shape[k - 1]!;
  const inner = x.shape[k]!;
  const leading = mask.shape.slice(0, k - 1);
  const layout = maskLayout(
    leading,
    axis.filter((a) => a < k - 1),
  );
  const keptSize = product(layout.kept.map((r) => r.size));
  const reducedLeading = product(layout.reduced.map((r) => r.size));
  const maskRows = k >= 2 ? mask.shape[k - 2]! : 1;
  const totalSteps = reducedLeading * Math.ceil(rowLen / 2);
  // Free 3-D views of the packed textures: only the last two dims fix a packed layout.
  const xView: TensorInfo = {
    dataId: x.dataId,
    shape: [product(leading), rowLen, inner],
    dtype: 'float32',
  };
  const maskView: TensorInfo = {
    dataId: mask.dataId,
    shape: [product(mask.shape.slice(0, -2)), maskRows, rowLen],
    dtype: mask.dtype,
  };
  const spec = { layout, keptSize, inner, rowLen, maskRows, totalSteps };
  let means: TensorInfo;
  if (totalSteps <= MAX_STEPS) {
    means = run(
      backend,
      new PackedMaskedWindowProgram({
        ...spec,
        windows: 1,
        windowSteps: totalSteps,
        invScale: 1,
        mode: 'mean',
      }),
      [xView, maskView],
    );
  } else {
    const windows = Math.ceil(totalSteps / MAX_STEPS);
    const partials = run(
      backend,
      new PackedMaskedWindowProgram({
        ...spec,
        windows,
        windowSteps: MAX_STEPS,
        invScale: 1 / MAX_WINDOW,
        mode: 'partial',
      }),
      [xView, maskView],
    );
    // The partials are small (one row per window of up to MAX_WINDOW positions): unpacked, they
    // are the flat [keptSize, windows, F + 1] array the existing combine passes read.
    let source = partials;
    if (backend.texData.get(partials.dataId).isPacked) {
      source = backend.unpackTensor(partials);
      backend.disposeIntermediateTensorInfo(partials);
    }
    const flat = {
      dataId: source.dataId,
      shape: [product(source.shape)],
      dtype: 'float32' as const,
    };
    means = combinePartials(backend, flat, windows, keptSize, inner); // disposes `flat`
  }
  if (!backend.texData.get(means.dataId).isPacked) {
    // Flat and unpacked (combine passes; or tfjs unpacked eagerly): any shape is a free view.
    return { dataId: means.dataId, shape: outShape, dtype: 'float32' };
  }
  if (webgl_util.isReshapeFree(means.shape, outShape)) {
    return { dataId: means.dataId, shape: outShape, dtype: 'float32' };
  }
  const unpacked = backend.unpackTensor(means);
  backend.disposeIntermediateTensorInfo(means);
  return { dataId: unpacked.dataId, shape: outShape, dtype: 'float32' };
}
