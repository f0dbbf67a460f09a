import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MaskLayout } from './layout.js';
import { CombineProgram, MAX_WINDOW, type MaskedProgram, MaskedWindowProgram } from './programs.js';

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

export interface MaskedReduction {
  layout: MaskLayout;
  keptSize: number;
  inner: number;
  reduceSize: number;
  mask: TensorInfo;
}

/**
 * Masked means, flat [keptSize * inner]. Every size must be non-zero. Up to MAX_WINDOW reduced
 * positions: one pass. Longer: per window of MAX_WINDOW, the masked sums and the count (both
 * scaled by the same power of two, which keeps half-float intermediates in range and cancels in
 * the final division), then passes summing up to MAX_WINDOW partials, the last one dividing.
 */
export function maskedMeans(
  backend: MathBackendWebGL,
  r: MaskedReduction,
  x: TensorInfo,
): TensorInfo {
  const { layout, keptSize, inner, reduceSize } = r;
  if (reduceSize <= MAX_WINDOW) {
    const program = new MaskedWindowProgram({
      layout,
      keptSize,
      inner,
      reduceSize,
      windows: 1,
      windowLen: reduceSize,
      invScale: 1,
      mode: 'mean',
    });
    return run(backend, program, [x, r.mask]);
  }
  const windows = Math.ceil(reduceSize / MAX_WINDOW);
  const partials = run(
    backend,
    new MaskedWindowProgram({
      layout,
      keptSize,
      inner,
      reduceSize,
      windows,
      windowLen: MAX_WINDOW,
      invScale: 1 / MAX_WINDOW,
      mode: 'partial',
    }),
    [x, r.mask],
  );
  return combinePartials(backend, partials, windows, keptSize, inner);
}

/**
 * The passes after the first: `partials` (unpacked, flat [keptSize, windows, inner + 1], sums
 * and count scaled by 1 / MAX_WINDOW) are summed MAX_WINDOW windows at a time, the last pass
 * dividing. Takes ownership of `partials` (disposed); returns flat means [keptSize * inner].
 */
export function combinePartials(
  backend: MathBackendWebGL,
  first: TensorInfo,
  windowsIn: number,
  keptSize: number,
  inner: number,
): TensorInfo {
  let partials = first;
  let windows = windowsIn;
  while (windows > MAX_WINDOW) {
    const windowsOut = Math.ceil(windows / MAX_WINDOW);
    const next = run(
      backend,
      new CombineProgram({
        keptSize,
        inner,
        countOnly: false,
        windowsIn: windows,
        windowsOut,
        invScale: 1 / MAX_WINDOW,
        mode: 'partial',
      }),
      [partials],
    );
    backend.disposeIntermediateTensorInfo(partials);
    partials = next;
    windows = windowsOut;
  }
  const means = run(
    backend,
    new CombineProgram({
      keptSize,
      inner,
      countOnly: false,
      windowsIn: windows,
      windowsOut: 1,
      invScale: 1,
      mode: 'final',
    }),
    [partials],
  );
  backend.disposeIntermediateTensorInfo(partials);
  return means;
}

/**
 * Valid counts per output row, flat [keptSize], as `counts * scale`: exact integers up to
 * MAX_WINDOW positions, else scaled by powers of two (exact) so half-float textures hold them.
 */
export function maskedCounts(
  backend: MathBackendWebGL,
  r: Omit<MaskedReduction, 'inner'>,
): { counts: TensorInfo; scale: number } {
  const { layout, keptSize, reduceSize } = r;
  let windows = Math.ceil(reduceSize / MAX_WINDOW);
  let invScale = windows === 1 ? 1 : 1 / MAX_WINDOW;
  let counts = run(
    backend,
    new MaskedWindowProgram({
      layout,
      keptSize,
      inner: 0,
      reduceSize,
      windows,
      windowLen: Math.min(reduceSize, MAX_WINDOW),
      invScale,
      mode: 'count',
    }),
    [r.mask],
  );
  let scale = 1 / invScale;
  while (windows > 1) {
    const windowsOut = Math.ceil(windows / MAX_WINDOW);
    invScale = 1 / nextPowerOfTwo(Math.min(windows, MAX_WINDOW));
    const next = run(
      backend,
      new CombineProgram({
        keptSize,
        inner: 0,
        countOnly: true,
        windowsIn: windows,
        windowsOut,
        invScale,
        mode: 'partial',
      }),
      [counts],
    );
    backend.disposeIntermediateTensorInfo(counts);
    counts = next;
    windows = windowsOut;
    scale /= invScale;
  }
  return { counts, scale };
}
