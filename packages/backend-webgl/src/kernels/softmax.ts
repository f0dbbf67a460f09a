import {
  asSoftmaxAttrs,
  MASKED_SOFTMAXES,
  type MaskedSoftmaxGradInputs,
  type MaskedSoftmaxInputs,
  type MaskedSoftmaxRow,
  type SoftmaxGeometry,
  softmaxGeometry,
} from '@masked-ops/core';
import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import { env, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { type PackedRowReducerName, ROW_REDUCERS, type RowReducerName } from '../glsl/softmax.js';
import { uploadPacked } from '../packed.js';
import { flatView, run } from '../passes.js';
import { MAX_WINDOW, type MaskedProgram } from '../programs/base.js';
import {
  type ElementLayout,
  type MaskPairs,
  MaskPairsProgram,
  maskPairsOf,
  maskPairsShape,
  maskRowsOf,
  ONLINE_WINDOW,
  type PackedLayout,
  PackedRowMergeProgram,
  PackedRowPassProgram,
  RowMergeProgram,
  RowPassProgram,
  SoftmaxGradProgram,
  SoftmaxOutputProgram,
  SoftmaxPackedGradProgram,
  SoftmaxPackedOutputProgram,
} from '../programs/softmax.js';

/**
 * The masked softmax kernels for 'webgl' (docs/SPEC.md "Masked softmax"), one driver per
 * direction parameterised by the row's `log`. Two layouts:
 * - packed (softmax along the last axis, an even number of rows, tfjs packing: see packedRows):
 *   every program works on texel quads, two positions of a row pair (tfjs's packed 2x2 texels).
 *   A row pass (PackedRowPassProgram) folds windows of ONLINE_WINDOW positions per invocation
 *   into a packed [R, 2] of row statistics (merge passes join the windows of long rows): the
 *   forward's online max and rescaled exp-sum with the row status (glsl/softmax.ts onlinePair),
 *   the gradient's sum of y * dy or of dy. Then one elementwise pass writes the packed output,
 *   four elements per invocation, in selects (forward4). x (dy, y) is read twice in all. The
 *   mask is read first in each pass and the other inputs only for quads with a valid position:
 *   padding (trailing key padding above all) costs one mask read per quad and no arithmetic.
 *   Inputs already in (or uploaded to, as tfjs uploads for its packed programs) a packed
 *   texture of the layout are read raw (runRaw): x, dy, y (the packed forward output) and a
 *   full mask, one read per quad instead of an unpack pass. A broadcast mask of a MaskPairs
 *   structure (key padding, causal) is first copied into a small packed texture of row-pair
 *   quads, read raw too; any other mask is read where it is, four reads per quad.
 * - unpacked (anything else): a row max pass, an exp-sum pass, one elementwise pass.
 * Versus tfjs's softmax (max, sub, exp, sum, div: five programs, three of them writing x-sized
 * textures, and two unpacks of packed x for its reductions), only y is written at full size. On
 * a CPU emulation (SwiftShader) what costs is invocations, texture reads and branches whose lanes
 * disagree (divisions above all in addressing): a quarter of the invocations, a read per quad,
 * and no work past the valid positions are what make the fused op faster than tf.softmax there.
 * Other inputs are read flat and unpacked (a packed one is unpacked first).
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
  const windows = Math.ceil(g.n / MAX_WINDOW);
  const out = run(
    backend,
    new RowPassProgram({ reducer, geometry: g, windows, finalShape }),
    names.map((n) => named[n]!),
  );
  return mergeWindows(backend, out, windows, (partials, windowsIn, windowsOut) =>
    // The merge reads the partials flat (unpacked textures are row-major: a free view).
    run(backend, new RowMergeProgram({ reducer, rows, windowsIn, windowsOut, finalShape }), [
      { dataId: partials.dataId, shape: [rows * windowsIn], dtype: partials.dtype },
    ]),
  );
}

/**
 * Merge passes of up to MAX_WINDOW window results each, until one is left per row: `merge` runs
 * one pass over `partials`. Each pass's input is disposed once the next exists; on an error the
 * latest one is, so nothing leaks. The result is owned by the caller.
 */
function mergeWindows(
  backend: MathBackendWebGL,
  first: TensorInfo,
  windows: number,
  merge: (partials: TensorInfo, windowsIn: number, windowsOut: number) => TensorInfo,
): TensorInfo {
  let out = first;
  try {
    while (windows > 1) {
      const windowsOut = Math.ceil(windows / MAX_WINDOW);
      const next = merge(out, windows, windowsOut);
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
 * A packed row pass's statistics: a packed [R, 2] (a row pair per texel, a vec2 per row), from
 * one pass over windows of ONLINE_WINDOW positions, then merge passes of up to MAX_WINDOW
 * windows. `inputs` in the pass's order (mask, then the reducer's); `raw` the names read raw.
 * Owned by the caller.
 */
function packedRowReduce(
  backend: MathBackendWebGL,
  g: SoftmaxGeometry,
  rows: number,
  reducer: PackedRowReducerName,
  named: Record<string, TensorInfo>,
  raw: readonly string[],
  maskPairs: MaskPairs | null = null,
): TensorInfo {
  const windows = Math.ceil(g.n / ONLINE_WINDOW);
  const program = new PackedRowPassProgram(g, rows, windows, reducer, raw, maskPairs);
  const first = runRaw(
    backend,
    program,
    program.variableNames.map((n) => named[n]!),
    raw.map((n) => named[n]!),
  );
  return mergeWindows(backend, first, windows, (partials, windowsIn, windowsOut) =>
    runRaw(
      backend,
      new PackedRowMergeProgram(rows, windowsIn, windowsOut, reducer),
      [partials],
      [partials],
    ),
  );
}

/**
 * Views of the inputs for the packed layout: each in `candidates` that is in a packed texture of
 * the layout, or still on the CPU and uploaded packed (as tfjs uploads for its packed programs),
 * is viewed as [rows, n] and read raw (its name in `raw`); the others are flat unpacked views
 * (textureView).
 */
function packedViews(
  backend: MathBackendWebGL,
  tensors: Record<string, TensorInfo>,
  candidates: readonly string[],
  rows: number,
  n: number,
  temps: TensorInfo[],
): { views: Record<string, TensorInfo>; raw: string[] } {
  const views: Record<string, TensorInfo> = {};
  const raw: string[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (candidates.includes(name)) {
      uploadPacked(backend, t);
      if (isPackedRows(backend, t, rows, n)) {
        views[name] = { dataId: t.dataId, shape: [rows, n], dtype: t.dtype };
        raw.push(name);
        continue;
      }
    }
    views[name] = textureView(backend, t, temps);
  }
  return { views, raw };
}

/**
 * Runs a program reading `raw` (packed textures) raw (programs/softmax.ts rawCursorStart). tfjs
 * unpacks a packed input of an unpacked program first (a full pass over it), so for the run
 * they are presented as unpacked: their texData's isPacked is restored right after, before any
 * disposal (the texture manager files textures by packing).
 */
function runRaw(
  backend: MathBackendWebGL,
  program: MaskedProgram,
  inputs: TensorInfo[],
  raw: readonly TensorInfo[],
): TensorInfo {
  const data = raw.map((t) => backend.texData.get(t.dataId));
  for (const d of data) d.isPacked = false;
  try {
    return run(backend, program, inputs);
  } finally {
    for (const d of data) d.isPacked = true;
  }
}

/**
 * Whether `t` is in a packed texture of the packed layout [rows, n] (tfjs's texture shape of it,
 * no offset, and its logical shape a free reshape of it, tfjs's rule for reading a packed texture
 * under another shape): x from a packed op or uploaded packed, the packed forward output as the
 * gradient's y. Such inputs are read raw instead of unpacked.
 */
function isPackedRows(backend: MathBackendWebGL, t: TensorInfo, rows: number, n: number): boolean {
  const data = backend.texData.get(t.dataId);
  return (
    data.isPacked === true &&
    data.texture != null &&
    data.slice == null &&
    data.texShape?.[0] === rows &&
    data.texShape?.[1] === n + (n % 2) &&
    webgl_util.isReshapeFree(data.shape, [rows, n])
  );
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

/**
 * The rows R of the packed elementwise layout [R, n] (programs/softmax.ts PackedLayout) when it
 * applies: tfjs packs (WEBGL_PACK), softmax along the last axis, an even number of rows, tfjs
 * lays a packed [R, n] out as one texel per 2x2 block with no squarifying, and the packed [R, n]
 * is a free reshape of the logits' shape (tfjs's own rule: the result is returned as a view).
 * Else null: the unpacked layout.
 */
function packedRows(g: SoftmaxGeometry, shape: readonly number[], mask: TensorInfo): number | null {
  const rows = g.outer;
  if (!env().getBool('WEBGL_PACK') || g.inner !== 1 || rows % 2 !== 0) return null;
  const out: [number, number] = [rows, g.n];
  if (!packedAsIs(out) || !webgl_util.isReshapeFree(out, [...shape])) return null;
  // The mask is read raw: its own packed texture of the layout, else a MaskPairs texture. (With
  // an even second-to-last logits dim, as a free reshape needs, the innermost outer dim is even
  // and the mask steps 0 or one row along it: a MaskPairs structure.)
  const pairs = maskPairsOf(g);
  if (pairs === null) return null;
  const [pairRows] = maskPairsShape(g, maskRowsOf(g, product(mask.shape)), pairs);
  return packedAsIs([pairRows!, g.n]) ? rows : null;
}

/** tfjs lays a packed [r, c] out as one texel per 2x2 block, with no squarifying. */
function packedAsIs([r, c]: [number, number]): boolean {
  const [tr, tc] = webgl_util.getTextureShapeFromLogicalShape([r, c], true);
  return tr === r && tc === c + (c % 2);
}

/**
 * The packed layout's inputs: each of `tensors` (x, or dy and y; and the mask) read raw where it
 * is in (or is uploaded to) a packed texture of the layout, the mask only when of the logits'
 * size; any other mask copied into its MaskPairs texture, read raw too (so the packed programs
 * always read the mask in one read per quad). `raw` names the inputs read raw (all of them packed
 * textures, see runRaw).
 */
function packedInputs(
  backend: MathBackendWebGL,
  g: SoftmaxGeometry,
  rows: number,
  tensors: Record<string, TensorInfo>,
  temps: TensorInfo[],
): { named: Record<string, TensorInfo>; raw: string[]; layout: PackedLayout } {
  const maskSize = product(tensors['mask']!.shape);
  const fullMask = maskSize === rows * g.n;
  const candidates = Object.keys(tensors).filter((n) => n !== 'mask' || fullMask);
  const { views, raw } = packedViews(backend, tensors, candidates, rows, g.n, temps);
  let pairs: MaskPairs | null = null;
  if (!raw.includes('mask')) {
    // packedRows checked that the structure has one and that its texture fits.
    pairs = maskPairsOf(g)!;
    const program = new MaskPairsProgram(g, maskRowsOf(g, maskSize), pairs);
    const pairTexture = run(backend, program, [views['mask']!]);
    temps.push(pairTexture);
    views['mask'] = pairTexture;
    raw.push('mask');
  }
  const { mask: _, ...read } = views;
  const layout = { ...packedLayout(backend, rows, g.n, read, raw), maskPairs: pairs };
  return { named: views, raw, layout };
}

/** The packed layout [rows, n]: which of `inputs` have its texture layout, and the raw ones. */
function packedLayout(
  backend: MathBackendWebGL,
  rows: number,
  n: number,
  inputs: Record<string, TensorInfo>,
  raw: readonly string[],
): PackedLayout {
  const direct = Object.keys(inputs).filter((k) => hasLayout(backend, inputs[k]!, [rows, n]));
  return { rows, direct, raw };
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

/**
 * The output as a tensor of `shape`: a free view (unpacked textures are row-major; a packed
 * output is used only where tfjs's reshape is free, see packedRows).
 */
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
      const fullMask = product(mask.shape) === product(logits.shape);
      const rows = packedRows(g, logits.shape, mask);
      if (rows !== null) {
        const { named, raw, layout } = packedInputs(webgl, g, rows, { x: logits, mask }, temps);
        const { x, mask: m } = named;
        const stats = packedRowReduce(webgl, g, rows, 'online', named, raw, layout.maskPairs);
        temps.push(stats);
        const program = new SoftmaxPackedOutputProgram(g, layout, row.log);
        const rawTensors = [stats, ...raw.map((n) => named[n]!)];
        return asShape(runRaw(webgl, program, [x!, m!, stats], rawTensors), logits.shape);
      }
      const x = textureView(webgl, logits, temps);
      const m = textureView(webgl, mask, temps);
      const read: Record<string, TensorInfo> = fullMask ? { x, mask: m } : { x };
      const layout = elementLayout(webgl, g, x, read);
      const rowsShape = statsShape(g, layout);
      const shift = rowReduce(webgl, 'max', g, { x, mask: m }, rowsShape);
      temps.push(shift);
      const sums = rowReduce(webgl, 'expSum', g, { x, mask: m, m: shift }, rowsShape);
      temps.push(sums);
      const program = new SoftmaxOutputProgram(g, layout, fullMask, row.log);
      return asShape(run(webgl, program, [x, m, shift, sums]), logits.shape);
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
      const fullMask = product(mask.shape) === product(y.shape);
      const reducer = row.log ? 'sum' : 'dot';
      const rows = packedRows(g, y.shape, mask);
      if (rows !== null) {
        const { named, raw, layout } = packedInputs(webgl, g, rows, { dy, mask, y }, temps);
        const t = packedRowReduce(webgl, g, rows, reducer, named, raw, layout.maskPairs);
        temps.push(t);
        const program = new SoftmaxPackedGradProgram(g, layout, row.log);
        const rawTensors = [t, ...raw.map((n) => named[n]!)];
        const inputs = [named['dy']!, named['mask']!, named['y']!, t];
        return asShape(runRaw(webgl, program, inputs, rawTensors), y.shape);
      }
      const named = {
        dy: textureView(webgl, dy, temps),
        mask: textureView(webgl, mask, temps),
        y: textureView(webgl, y, temps),
      };
      const { mask: _, ...values } = named;
      const read = fullMask ? named : values;
      const layout = elementLayout(webgl, g, named.y, read);
      const t = rowReduce(webgl, reducer, g, named, statsShape(g, layout));
      temps.push(t);
      const program = new SoftmaxGradProgram(g, layout, fullMask, row.log);
      return asShape(run(webgl, program, [named.dy, named.mask, named.y, t]), y.shape);
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
