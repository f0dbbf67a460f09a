import type { MaskLayout, ReducerName } from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { COMPOSED, type WindowReducerName, windowReducer } from './glsl/reducers.js';
import { MAX_WINDOW, type MaskedProgram } from './programs/base.js';
import { CombineProgram, combineReadsY } from './programs/combine.js';
import { MaskedWindowProgram } from './programs/window.js';

export const run = (
  backend: MathBackendWebGL,
  program: MaskedProgram,
  inputs: TensorInfo[],
): TensorInfo => backend.runWebGLProgram(program, inputs, 'float32', program.uniformValues);

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/**
 * A flat 1-D view of `t` for the shaders. An unpacked texture is row-major whatever its logical
 * shape, so the view shares the texture; a packed one is unpacked first (as tfjs does for any
 * unpacked program) and the copy is pushed to `temps` for the caller to dispose.
 */
export function flatView(
  backend: MathBackendWebGL,
  t: TensorInfo,
  temps: TensorInfo[],
): TensorInfo {
  let source = t;
  if (backend.texData.get(t.dataId).isPacked) {
    source = backend.unpackTensor(t);
    temps.push(source);
  }
  const size = t.shape.reduce((p, d) => p * d, 1);
  return { dataId: source.dataId, shape: [size], dtype: t.dtype };
}

/** A masked reduction over flat views; every size non-zero. */
export interface FlatReduction {
  reducer: WindowReducerName;
  layout: MaskLayout;
  keptSize: number;
  /** Features per mask position (ignored by mask-only reducers). */
  inner: number;
  reduceSize: number;
  mask: TensorInfo;
  /** Flat x (not read by mask-only reducers). */
  x?: TensorInfo;
  /**
   * Flat per-output y, [keptSize * inner], for reducers of a term of x and y: the forward output
   * (the ties statistic), the first stage's result (a second stage).
   */
  y?: TensorInfo;
  /**
   * Leave a sum-like result scaled (statistics: counts beyond half-float range stay in it); the
   * caller multiplies by the returned scale. Otherwise the result is final and scale is 1.
   */
  keepScaled?: boolean;
}

/** A flat result whose true values are `out * scale`. */
export interface Scaled {
  out: TensorInfo;
  scale: number;
}

/**
 * The stage driver. Up to MAX_WINDOW reduced positions: one pass. Longer: a first pass writes, per
 * window of MAX_WINDOW, each feature's partial state and the valid count; then passes merge up to
 * MAX_WINDOW partials each, the last one finishing. Sum-like reducers fold values times a power of
 * two per pass (exact): partials stay in half-float range, and a mean's intermediate sums stay
 * finite whenever the values are.
 */
export function maskedReduce(backend: MathBackendWebGL, r: FlatReduction): Scaled {
  const { reducer, layout, keptSize, inner, reduceSize } = r;
  const reads = windowReducer(reducer).source;
  const inputs = reads === 'xy' ? [r.x!, r.mask, r.y!] : reads === 'x' ? [r.x!, r.mask] : [r.mask];
  if (reduceSize <= MAX_WINDOW) {
    const scale = 1 / nextPowerOfTwo(reduceSize);
    const out = run(
      backend,
      new MaskedWindowProgram({
        reducer,
        layout,
        keptSize,
        inner,
        reduceSize,
        windows: 1,
        windowLen: reduceSize,
        scale,
        outScale: r.keepScaled ? 1 : 1 / scale,
        final: true,
      }),
      inputs,
    );
    return { out, scale: r.keepScaled ? 1 / scale : 1 };
  }
  const windows = Math.ceil(reduceSize / MAX_WINDOW);
  const partials = run(
    backend,
    new MaskedWindowProgram({
      reducer,
      layout,
      keptSize,
      inner,
      reduceSize,
      windows,
      windowLen: MAX_WINDOW,
      scale: 1 / MAX_WINDOW,
      outScale: 1,
      final: false,
    }),
    inputs,
  );
  return combinePartials(backend, {
    reducer,
    partials,
    windows,
    keptSize,
    inner,
    scale: 1 / MAX_WINDOW,
    keepScaled: r.keepScaled ?? false,
    y: r.y,
  });
}

export interface Partials {
  reducer: WindowReducerName;
  /** Unpacked, flat [keptSize, windows, inner + 1]; owned (disposed) by combinePartials. */
  partials: TensorInfo;
  windows: number;
  keptSize: number;
  inner: number;
  /** The scale the partials carry so far (product of the passes' scales). */
  scale: number;
  keepScaled: boolean;
  /** Flat y, [keptSize * inner], for a reducer whose finish reads it. */
  y?: TensorInfo;
}

/** The passes after the first: merge MAX_WINDOW windows at a time, the last pass finishing. */
export function combinePartials(backend: MathBackendWebGL, p: Partials): Scaled {
  const { reducer, keptSize, inner } = p;
  let { partials, windows, scale } = p;
  while (windows > MAX_WINDOW) {
    const windowsOut = Math.ceil(windows / MAX_WINDOW);
    const next = run(
      backend,
      new CombineProgram({
        reducer,
        keptSize,
        inner,
        windowsIn: windows,
        windowsOut,
        scale: 1 / MAX_WINDOW,
        outScale: 1,
        final: false,
      }),
      [partials],
    );
    backend.disposeIntermediateTensorInfo(partials);
    partials = next;
    windows = windowsOut;
    scale /= MAX_WINDOW;
  }
  const last = 1 / nextPowerOfTwo(windows);
  scale *= last;
  const out = run(
    backend,
    new CombineProgram({
      reducer,
      keptSize,
      inner,
      windowsIn: windows,
      windowsOut: 1,
      scale: last,
      outScale: p.keepScaled ? 1 : 1 / scale,
      final: true,
    }),
    combineReadsY(reducer, true) ? [partials, p.y!] : [partials],
  );
  backend.disposeIntermediateTensorInfo(partials);
  return { out, scale: p.keepScaled ? 1 / scale : 1 };
}

/**
 * The forward stages of a table row: its reducer's one reduction, or, for a composed reducer, its
 * stages in order, each after the first reading the previous one's result as y
 * (glsl/reducers.ts COMPOSED). `reduce` runs one stage and returns its result, owned by the
 * caller. Returns the results in the row's output order; stage results that are not outputs are
 * disposed.
 */
export function forwardStages(
  backend: MathBackendWebGL,
  reducer: ReducerName,
  reduce: (stage: WindowReducerName, y?: TensorInfo) => TensorInfo,
): TensorInfo[] {
  const composed = COMPOSED[reducer];
  if (composed === undefined) return [reduce(reducer)];
  const results: TensorInfo[] = [];
  try {
    for (const stage of composed.stages) results.push(reduce(stage, results.at(-1)));
  } catch (e) {
    for (const t of results) backend.disposeIntermediateTensorInfo(t);
    throw e;
  }
  results.forEach((t, i) => {
    if (!composed.outputs.includes(i)) backend.disposeIntermediateTensorInfo(t);
  });
  return composed.outputs.map((i) => results[i]!);
}
