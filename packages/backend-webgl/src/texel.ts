import type { MaskedGeometry, ReducerName } from '@masked-ops/core';
import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import { env, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { GRADIENTS, type WindowReducerName, windowReducer } from './glsl/reducers.js';
import { uploadPacked } from './packed.js';
import { combinePartials, flatView, forwardStages, run, type Scaled } from './passes.js';
import { MAX_WINDOW } from './programs/base.js';
import { combineReadsY } from './programs/combine.js';
import { TexelBroadcastProgram, texelBroadcastInputs } from './programs/texel_broadcast.js';
import { TEXEL_LANES, TEXEL_STEPS, TexelWindowProgram } from './programs/texel_window.js';

/**
 * Whether a kernel takes the texel path: every position of x reduced into one output with one
 * mask value per x value (the per-token-loss form: x and the mask of one shape, every axis), and
 * more positions than one window pass of the generic path covers. Every position then has the
 * same output, so the passes walk the textures in texel order (programs/texel_window.ts).
 */
export const useTexelPath = (g: MaskedGeometry): boolean =>
  g.keptSize === 1 && g.inner === 1 && g.reduceSize > MAX_WINDOW;

/**
 * Whether the texel path reads packed textures: `main` (x, or the mask where only the mask is
 * read) is in a packed texture (as tfjs's packed ops leave their outputs) of rank 2 or more (a
 * packed vector holds two values per texel), and every shape in `same` (the other inputs', dx's)
 * has its [B, R, C] view, so that their texels hold the same positions. A `main` still on the CPU
 * is read unpacked, as tfjs's own reductions upload it: packing it here would make every later
 * unpacked op on it (tf.sum, tf.max) unpack it again. Otherwise every texture is read unpacked (a
 * packed one is unpacked first, into a temporary).
 */
function texelPacked(
  backend: MathBackendWebGL,
  main: TensorInfo,
  same: readonly (readonly number[])[],
): boolean {
  if (main.shape.length < 2 || backend.texData.get(main.dataId).isPacked !== true) return false;
  const view = webgl_util.getShapeAs3D([...main.shape]);
  return same.every((s) => util.arraysEqual(webgl_util.getShapeAs3D([...s]), view));
}

/**
 * `main`'s view for a packed program: [R, C] or [B, R, C], B > 1 (a leading 1 is dropped, see
 * packedTexels in programs/base.ts); a free view of a packed texture of `main`'s shape.
 */
function packedView(shape: readonly number[]): number[] {
  const [b, r, c] = webgl_util.getShapeAs3D([...shape]);
  return b === 1 ? [r, c] : [b, r, c];
}

/**
 * Whether `inputs` (x and the mask, as passed to a texel program) are in textures of one shape
 * and flat offset that tfjs reads as they are (on the GPU, in the program's packing, and a free
 * view): then one walker serves both. Anything else (a texture tfjs converts first) keeps a walker
 * per input, each from its own texture's shape uniform, which is right whatever tfjs converts.
 */
function sameTextures(backend: MathBackendWebGL, inputs: TensorInfo[], packed: boolean): boolean {
  const data = inputs.map((t) => backend.texData.get(t.dataId));
  const asRead = data.every(
    (d, i) =>
      d.texture != null &&
      (d.isPacked === true) === packed &&
      (!packed || webgl_util.isReshapeFree(d.shape, inputs[i]!.shape)),
  );
  const [a, b] = data;
  return (
    asRead &&
    util.arraysEqual(a!.texShape!, b!.texShape!) &&
    (a!.slice?.flatOffset ?? 0) === (b!.slice?.flatOffset ?? 0)
  );
}

/** Whether an unpacked texture is a multiple of four texels wide and starts at a multiple of four. */
function fourAligned(backend: MathBackendWebGL, t: TensorInfo): boolean {
  const data = backend.texData.get(t.dataId);
  return data.texShape![1]! % 4 === 0 && (data.slice?.flatOffset ?? 0) % 4 === 0;
}

/** A one-value input (y, dy, a statistic) as the texel programs read it. */
const one = (backend: MathBackendWebGL, t: TensorInfo, packed: boolean, temps: TensorInfo[]) =>
  packed ? { dataId: t.dataId, shape: [1, 1], dtype: t.dtype } : flatView(backend, t, temps);

export interface TexelReduction {
  reducer: WindowReducerName;
  /** Not read by a mask-only reducer. */
  x?: TensorInfo;
  mask: TensorInfo;
  /** The one value y of a reducer of a term of x and y. */
  y?: TensorInfo;
  /** As in FlatReduction: leave a sum-like result scaled, the caller multiplies by `scale`. */
  keepScaled?: boolean;
}

/**
 * A reduction of every position on the texel path: a window pass of TEXEL_STEPS texel steps per
 * window (partials written packed, then unpacked: they are small), then the combine passes.
 * Returns the one result, flat and unpacked (any shape of one value is a free view of it).
 */
export function texelReduction(backend: MathBackendWebGL, r: TexelReduction): Scaled {
  const reads = windowReducer(r.reducer).source;
  const readsX = reads !== 'mask';
  const main = readsX ? r.x! : r.mask;
  const size = util.sizeFromShape(main.shape);
  const packed = texelPacked(backend, main, readsX ? [r.mask.shape] : []);
  const temps: TensorInfo[] = [];
  try {
    let inputs: TensorInfo[];
    let steps: number;
    let rows = 1;
    let cols = 1;
    if (packed) {
      uploadPacked(backend, main);
      uploadPacked(backend, r.mask);
      const [b, r3, c3] = webgl_util.getShapeAs3D(main.shape);
      [rows, cols] = [r3, c3];
      steps = b * Math.ceil(rows / 2) * Math.ceil(cols / 2);
      // The mask in x's shape: the same [B, R, C] view, so a free view of its packed texture.
      const mask = { dataId: r.mask.dataId, shape: main.shape, dtype: r.mask.dtype };
      inputs = readsX ? [main, mask] : [mask];
    } else {
      steps = Math.ceil(size / TEXEL_LANES);
      const mask = flatView(backend, r.mask, temps);
      inputs = readsX ? [flatView(backend, main, temps), mask] : [mask];
      for (const t of inputs) backend.uploadToGPU(t.dataId);
    }
    const shared = readsX && sameTextures(backend, inputs, packed);
    const aligned = !packed && inputs.every((t) => fourAligned(backend, t));
    if (reads === 'xy') inputs.push(one(backend, r.y!, packed, temps));
    const windows = Math.ceil(steps / TEXEL_STEPS);
    const scale = 1 / (TEXEL_LANES * TEXEL_STEPS);
    const program = new TexelWindowProgram({
      reducer: r.reducer,
      packed,
      size,
      rows,
      cols,
      steps,
      windows,
      scale,
      shared,
      aligned,
    });
    const packedPartials = run(backend, program, inputs);
    // Unpacked, the partials are the flat [slots, 2] ([slots] for the count) array the combine
    // passes read.
    let source = packedPartials;
    if (backend.texData.get(packedPartials.dataId).isPacked) {
      source = backend.unpackTensor(packedPartials);
      backend.disposeIntermediateTensorInfo(packedPartials);
    }
    return combinePartials(backend, {
      reducer: r.reducer,
      partials: {
        dataId: source.dataId,
        shape: [util.sizeFromShape(source.shape)],
        dtype: 'float32',
      },
      windows: program.slots,
      keptSize: 1,
      inner: readsX ? 1 : 0,
      scale,
      keepScaled: r.keepScaled ?? false,
      ...(combineReadsY(r.reducer, true) ? { y: flatView(backend, r.y!, temps) } : {}),
    });
  } finally {
    for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  }
}

/** The forward kernel's texel path: the row's results (forwardStages), each of `outShape`. */
export function texelMaskedReduce(
  backend: MathBackendWebGL,
  reducer: ReducerName,
  x: TensorInfo,
  mask: TensorInfo,
  outShape: number[],
): TensorInfo[] {
  return forwardStages(
    backend,
    reducer,
    (stage, y) => texelReduction(backend, { reducer: stage, x, mask, y }).out,
  ).map((out) => ({ dataId: out.dataId, shape: outShape, dtype: 'float32' as const }));
}

/**
 * The gradient kernel's texel path: the statistic (valid count or ties, on the texel path too),
 * then one pass writing dx (TexelBroadcastProgram) in the layout of what it reads (x, or the mask
 * for a gradient that reads no x): packed from packed textures, as tfjs's packed ops write theirs;
 * unpacked otherwise, one value per invocation sampled where it is written (writing a packed dx
 * from unpacked textures, as the generic path's MaskedBroadcastPackedProgram does, took 2-3x as
 * long on SwiftShader).
 */
export function texelGradient(
  backend: MathBackendWebGL,
  reducer: ReducerName,
  inputs: { dy: TensorInfo; dy1?: TensorInfo; mask: TensorInfo; x?: TensorInfo; y?: TensorInfo },
  xShape: number[],
): TensorInfo {
  const gradient = GRADIENTS[reducer]!;
  const { dy, dy1, mask, x, y } = inputs;
  const temps: TensorInfo[] = [];
  try {
    let stat: Scaled | null = null;
    if (gradient.stat !== null) {
      // The count reads the mask alone, the ties x and y.
      stat = texelReduction(backend, { reducer: gradient.stat, mask, x, y, keepScaled: true });
      temps.push(stat.out);
    }
    const main = gradient.readsXY ? x! : mask;
    const packed =
      env().getBool('WEBGL_LAZILY_UNPACK') && texelPacked(backend, main, [mask.shape, xShape]);
    const named: Record<string, TensorInfo> = {};
    let view: number[];
    if (packed) {
      uploadPacked(backend, main);
      uploadPacked(backend, mask);
      view = packedView(main.shape);
      named['mask'] = { dataId: mask.dataId, shape: view, dtype: mask.dtype };
      if (gradient.readsXY) named['x'] = { dataId: x!.dataId, shape: view, dtype: 'float32' };
    } else {
      view = [util.sizeFromShape(main.shape)];
      named['mask'] = flatView(backend, mask, temps);
      if (gradient.readsXY) named['x'] = flatView(backend, x!, temps);
    }
    named['dy'] = one(backend, dy, packed, temps);
    if (gradient.cotangents === 2) named['dy1'] = one(backend, dy1!, packed, temps);
    if (stat) named['stat'] = one(backend, stat.out, packed, temps);
    if (gradient.readsXY) named['y'] = one(backend, y!, packed, temps);
    const dx = run(
      backend,
      new TexelBroadcastProgram({ reducer, packed, view, statScale: stat?.scale ?? 1 }),
      texelBroadcastInputs(gradient).map((name) => named[name]!),
    );
    // [R, C] / [B, R, C] is a free view of a packed texture of x's shape, [size] of an unpacked one.
    return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
  } finally {
    for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  }
}
