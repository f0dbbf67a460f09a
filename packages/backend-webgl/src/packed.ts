import { maskLayout, type ReducerName } from '@masked-ops/core';
import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import { env, type TensorInfo } from '@tensorflow/tfjs-core';
import { combinePartials, run } from './passes.js';
import { MAX_WINDOW } from './programs/base.js';
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
function uploadPacked(backend: MathBackendWebGL, t: TensorInfo): void {
  const data = backend.texData.get(t.dataId);
  if (data.texture == null && data.values != null && data.slice == null) {
    data.isPacked = true;
    backend.uploadToGPU(t.dataId);
  }
}

/**
 * A masked reduction over a packed x, no unpacking pass. Returns a tensor of `outShape`: packed
 * when that is a free view of the packed [keptSize, F] result, else unpacked (a pass over the
 * small output only). The caller owns the result; every intermediate is disposed here.
 */
export function packedMaskedReduce(
  backend: MathBackendWebGL,
  reducer: ReducerName,
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
  const spec = { reducer, layout, keptSize, inner, rowLen, maskRows, totalSteps };
  let result: TensorInfo;
  if (totalSteps <= MAX_STEPS) {
    // Each texel row pair holds up to two positions: the scale covers 2 * totalSteps of them.
    const scale = 1 / nextPowerOfTwo(2 * totalSteps);
    result = run(
      backend,
      new PackedMaskedWindowProgram({
        ...spec,
        windows: 1,
        windowSteps: totalSteps,
        scale,
        outScale: 1 / scale,
        final: true,
      }),
      [xView, maskView],
    );
  } else {
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
      [xView, maskView],
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
    result = combinePartials(backend, {
      reducer,
      partials, // disposed by combinePartials
      windows,
      keptSize,
      inner,
      scale: 1 / MAX_WINDOW,
      keepScaled: false,
    }).out;
  }
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
