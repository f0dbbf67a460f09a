import {
  asSoftmaxAttrs,
  MASKED_SOFTMAXES,
  type MaskedSoftmaxGradInputs,
  type MaskedSoftmaxInputs,
  type MaskedSoftmaxRow,
  type SoftmaxGeometry,
  softmaxGeometry,
} from '@masked-ops/core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { ROW_REDUCERS, type RowReducerName } from '../glsl/softmax.js';
import { flatView, run } from '../passes.js';
import { MAX_WINDOW } from '../programs/base.js';
import {
  type ElementLayout,
  RowMergeProgram,
  RowPassProgram,
  SoftmaxGradProgram,
  SoftmaxOutputProgram,
} from '../programs/softmax.js';

/**
 * The masked softmax kernels for 'webgl' (docs/SPEC.md "Masked softmax"), one driver per
 * direction parameterised by the row's `log`. Forward: the row max over valid finite logits, the
 * row's sum of exp(x - max) with its status (glsl/softmax.ts), then one elementwise pass writing y
 * from x, the mask and the two row statistics. Gradient: one row sum over valid positions (y * dy,
 * or dy), then one elementwise pass. Versus tfjs's softmax (max, sub, exp, sum, div: five
 * programs, three of them writing x-sized textures), x is read three times and only y is written
 * at full size. All tensors are read flat and unpacked (a packed input is unpacked first).
 */

const product = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * One statistic per row ([outer * inner], flat, unpacked; owned by the caller): a first pass over
 * windows of up to MAX_WINDOW positions per row, then merge passes of up to MAX_WINDOW windows,
 * as the package's reductions (no shader loop long enough for a GPU watchdog, and the sums are
 * blocked: no float32 accumulator folds more than MAX_WINDOW terms).
 */
function rowReduce(
  backend: MathBackendWebGL,
  reducer: RowReducerName,
  g: SoftmaxGeometry,
  named: Record<string, TensorInfo>,
  finalShape: number[],
): TensorInfo {
  const r = ROW_REDUCERS[reducer];
  const names = ['mask', ...r.elementInputs, ...(r.rowInput ? [r.rowInput] : [])];
  const rows = g.outer * g.inner;
  let windows = Math.ceil(g.n / MAX_WINDOW);
  let out = run(
    backend,
    new RowPassProgram({ reducer, geometry: g, windows, finalShape }),
    names.map((n) => named[n]!),
  );
  try {
    while (windows > 1) {
      const windowsOut = Math.ceil(windows / MAX_WINDOW);
      // The merge reads the partials flat (unpacked textures are row-major: a free view).
      const flat = { dataId: out.dataId, shape: [rows * windows], dtype: out.dtype };
      const next = run(
        backend,
        new RowMergeProgram({ reducer, rows, windowsIn: windows, windowsOut, finalShape }),
        [flat],
      );
      backend.disposeIntermediateTensorInfo(out);
      out = next;
      windows = windowsOut;
    }
  } catch (e) {
    backend.disposeIntermediateTensorInfo(out);
    throw e;
  }
  return out;
}

/**
 * A flat unpacked view of `t` in a texture: the programs address textures directly (texel
 * cursors), so a tiny tensor still on the CPU must not be uploaded as a uniform, as tfjs would.
 */
function textureView(backend: MathBackendWebGL, t: TensorInfo, temps: TensorInfo[]): TensorInfo {
  const view = flatView(backend, t, temps);
  backend.uploadToGPU(view.dataId);
  return view;
}

/** The texture of `t` has this 2-D layout and no offset: the shaders may sample it in place. */
function hasLayout(backend: MathBackendWebGL, t: TensorInfo, shape: readonly number[]): boolean {
  const data = backend.texData.get(t.dataId);
  const offset = data.slice?.flatOffset ?? 0;
  return offset === 0 && data.texShape?.[0] === shape[0] && data.texShape?.[1] === shape[1];
}

/**
 * The elementwise programs' layout (programs/softmax.ts ElementLayout). Along the last axis, the
 * fewest logits rows j per texture row that fit the texture size limit ('rows'; [R, C] with C > 1
 * is laid out as [R, C] by tfjs). Otherwise `ref`'s texture shape when that holds exactly the
 * tensor, so inputs of that layout are read in place, else flat. tfjs's shader cache keys on the
 * output's rank and on what `direct` bakes in: a few variants per structure at most.
 */
function elementLayout(
  backend: MathBackendWebGL,
  g: SoftmaxGeometry,
  ref: TensorInfo,
  inputs: Record<string, TensorInfo>,
): ElementLayout {
  const max = env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
  const rows = g.outer;
  if (g.inner === 1 && g.n > 1) {
    for (let j = 1; j * g.n <= max; j++) {
      if (rows % j !== 0 || rows / j > max) continue;
      const shape: [number, number] = [rows / j, j * g.n];
      const direct = Object.keys(inputs).filter((n) => hasLayout(backend, inputs[n]!, shape));
      return { kind: 'rows', shape, split: j > 1, direct };
    }
  }
  const size = product(ref.shape);
  const [r, c] = backend.texData.get(ref.dataId).texShape ?? [1, size];
  return { kind: 'flat', shape: r > 1 && c > 1 && r * c === size ? [r, c] : [size] };
}

/** The row statistics' shape for a layout: [R, j] or [R] for 'rows' (see ElementLayout). */
const statsShape = (g: SoftmaxGeometry, layout: ElementLayout): number[] =>
  layout.kind === 'rows' && layout.split
    ? [layout.shape[0], layout.shape[1] / g.n]
    : layout.kind === 'rows'
      ? [layout.shape[0]]
      : [g.outer * g.inner];

/** Runs `body` with a list for temporaries, disposing them whatever happens. */
function withTemps<T>(backend: MathBackendWebGL, body: (temps: TensorInfo[]) => T): T {
  const temps: TensorInfo[] = [];
  try {
    return body(temps);
  } finally {
    for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  }
}

/** The flat unpacked output as a tensor of `shape` (a free view: unpacked is row-major). */
const asShape = (out: TensorInfo, shape: number[]): TensorInfo => ({
  dataId: out.dataId,
  shape,
  dtype: 'float32',
});

export function maskedSoftmaxKernel(row: MaskedSoftmaxRow): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { logits, mask } = inputs as MaskedSoftmaxInputs;
    const { axis } = asSoftmaxAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    if (product(logits.shape) === 0) {
      return webgl.makeTensorInfo(logits.shape, 'float32', new Float32Array(0));
    }
    const g = softmaxGeometry(logits.shape, mask.shape, axis);
    return withTemps(webgl, (temps) => {
      const x = textureView(webgl, logits, temps);
      const m = textureView(webgl, mask, temps);
      const fullMask = product(mask.shape) === product(logits.shape);
      const layout = elementLayout(webgl, g, x, fullMask ? { x, mask: m } : { x });
      const rowsShape = statsShape(g, layout);
      const shift = rowReduce(webgl, 'max', g, { x, mask: m }, rowsShape);
      temps.push(shift);
      const sums = rowReduce(webgl, 'expSum', g, { x, mask: m, m: shift }, rowsShape);
      temps.push(sums);
      const out = run(webgl, new SoftmaxOutputProgram(g, layout, fullMask, row.log), [
        x,
        m,
        shift,
        sums,
      ]);
      return asShape(out, logits.shape);
    });
  };
}

export function maskedSoftmaxGradKernel(row: MaskedSoftmaxRow): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, mask, y } = inputs as MaskedSoftmaxGradInputs;
    const { axis } = asSoftmaxAttrs(attrs);
    const webgl = backend as MathBackendWebGL;
    if (product(y.shape) === 0) {
      return webgl.makeTensorInfo(y.shape, 'float32', new Float32Array(0));
    }
    const g = softmaxGeometry(y.shape, mask.shape, axis);
    return withTemps(webgl, (temps) => {
      const named = {
        dy: textureView(webgl, dy, temps),
        mask: textureView(webgl, mask, temps),
        y: textureView(webgl, y, temps),
      };
      const fullMask = product(mask.shape) === product(y.shape);
      const { mask: m, ...values } = named;
      const layout = elementLayout(webgl, g, named.y, fullMask ? named : values);
      const t = rowReduce(webgl, row.log ? 'sum' : 'dot', g, named, statsShape(g, layout));
      temps.push(t);
      const out = run(webgl, new SoftmaxGradProgram(g, layout, fullMask, row.log), [
        named.dy,
        named.mask,
        named.y,
        t,
      ]);
      return asShape(out, y.shape);
    });
  };
}

/** Forward and gradient configs for every row of core's MASKED_SOFTMAXES, in its order. */
export const webglSoftmaxKernelConfigs: KernelConfig[] = MASKED_SOFTMAXES.flatMap((row) => [
  { kernelName: row.kernelName, backendName: 'webgl', kernelFunc: maskedSoftmaxKernel(row) },
  {
    kernelName: row.gradKernelName,
    backendName: 'webgl',
    kernelFunc: maskedSoftmaxGradKernel(row),
  },
]);
