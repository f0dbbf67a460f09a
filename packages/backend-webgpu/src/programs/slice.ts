import type { MaskLayout, ReducerName, Run } from '@masked-ops/core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import {
  GRADIENTS,
  REDUCERS,
  STATS,
  type StatName,
  type WgslGradient,
  type WgslReducer,
} from '../wgsl/reducers.js';
import type { SplitPlan } from './split.js';

/** The per-call values of a program's own uniforms, in declaration order (runWebGPUProgram). */
export type ProgramUniforms = { type: 'int32' | 'float32'; data: number[] }[];

/** A program plus the values of its uniforms. */
export interface MaskedProgram extends WebGPUProgram {
  uniformData: ProgramUniforms;
}

/** The slices of a masked reduction (core's maskedGeometry), every size non-zero. */
export interface Slices {
  layout: MaskLayout;
  /** Output rows: kept mask positions. */
  keptSize: number;
  /** Features per mask position: x is [maskSize, inner], the output [keptSize, inner]. */
  inner: number;
  /** Mask positions reduced into one output row. */
  reduceSize: number;
}

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * The workgroup `[columns, rows]` of a reduction: `columns` consecutive output elements (the
 * features of a row, or, where a row has fewer, several rows: one workgroup per output row
 * group), each reduced by `rows` invocations that stride over its slice and then merge their
 * partial states in a tree in workgroup memory. The shape is baked into the shader (workgroup
 * size, shared array length) and every shader costs a compilation (0.3-1 s on SwiftShader), so
 * there are two:
 * - [32, 4]: consecutive invocations read consecutive features (or rows);
 * - [4, 64]: long slices (>= 1024 positions) of fewer than 16 features, where 32 columns would
 *   leave most invocations idle and a long serial loop to each of the others.
 * On SwiftShader, which runs a workgroup's invocations on one CPU thread and switches between
 * them at every barrier, [32, 8] took 3-5x longer than [32, 4] at [256,200,64] (more barrier
 * traffic for the same work); real GPUs prefer more rows, which the second shape gives where
 * slices are long.
 */
export function workgroupShape(s: Slices): [number, number] {
  if (s.inner < 16 && s.reduceSize >= 1024) return [4, 64];
  return [32, 4];
}

/**
 * Runs of each kind a program takes: the strides are vec4 uniforms. Kept and reduced runs
 * alternate, so any axis set of a mask of rank <= 8 fits (tfjs's webgpu kernels stop at rank 6).
 */
export const MAX_RUNS = 4;

/**
 * WGSL mapping a flat index over runs (row-major, as core's layout numbers them) to a
 * mask-level offset, the runs' count and strides being uniforms: the same shader serves every
 * layout. `single`: at most one run (the common contiguous reduction), the hot loop's offset is a
 * multiplication (a missing run has mask stride 0).
 */
function offsetFunction(name: string, prefix: string, single: boolean): string {
  const body = single
    ? `return flatIndex * uniforms.${prefix}Mask.x;`
    : `var rest = flatIndex;
    var base = 0;
    for (var j = 0; j < uniforms.${prefix}Runs; j = j + 1) {
      let i = rest / uniforms.${prefix}Flat[j];
      rest = rest - i * uniforms.${prefix}Flat[j];
      base = base + i * uniforms.${prefix}Mask[j];
    }
    return base;`;
  return `
  fn ${name}(flatIndex : i32) -> i32 {
    ${body}
  }`;
}

/** Uniform declarations and values, in one order (tfjs aligns them as WGSL does). */
export class Uniforms {
  readonly declarations: string[] = [];
  readonly data: ProgramUniforms = [];

  int(name: string, value: number): this {
    this.declarations.push(`${name} : i32,`);
    this.data.push({ type: 'int32', data: [value] });
    return this;
  }

  float(name: string, value: number): this {
    this.declarations.push(`${name} : f32,`);
    this.data.push({ type: 'float32', data: [value] });
    return this;
  }

  /** A vec4<i32> uniform. */
  int4(name: string, values: readonly [number, number, number, number]): this {
    this.declarations.push(`${name} : vec4<i32>,`);
    this.data.push({ type: 'int32', data: [...values] });
    return this;
  }

  /** Count, flat strides and mask strides of up to MAX_RUNS runs (padded: flat 1, mask 0). */
  runs(prefix: string, runs: readonly Run[]): this {
    if (runs.length > MAX_RUNS) {
      throw new Error(
        `backend-webgpu: the mask's ${prefix === 'kept' ? 'kept' : 'reduced'} axes form ${runs.length} separate runs; at most ${MAX_RUNS} are supported`,
      );
    }
    const pad = (values: number[], fill: number) =>
      values.concat(new Array<number>(MAX_RUNS - values.length).fill(fill));
    this.int(`${prefix}Runs`, runs.length);
    for (const [name, values] of [
      [
        'Flat',
        pad(
          runs.map((r) => r.flatStride),
          1,
        ),
      ],
      [
        'Mask',
        pad(
          runs.map((r) => r.maskStride),
          0,
        ),
      ],
    ] as const) {
      this.declarations.push(`${prefix}${name} : vec4<i32>,`);
      this.data.push({ type: 'int32', data: values });
    }
    return this;
  }
}

/**
 * The uniforms every program walking the slices declares, in this order: sizes, the sum-like
 * reducers' scale (reducers.ts), the kept and reduced runs. The scale depends on the whole
 * slice's length, so the stages of a split reduction (split.ts) scale alike.
 */
export function sliceUniforms(s: Slices): Uniforms {
  const scale = 1 / nextPowerOfTwo(s.reduceSize);
  return new Uniforms()
    .int('inner', s.inner)
    .int('outSize', s.keptSize * s.inner)
    .int('reduceSize', s.reduceSize)
    .float('scale', scale)
    .float('outScale', 1 / scale)
    .runs('kept', s.layout.kept)
    .runs('red', s.layout.reduced);
}

/** What a slice program computes. */
export type SliceTask =
  /**
   * The forward reduction of a table row: `outputs` values per output element, [k, outSize];
   * split, stage 1 of it: each chunk's partial states (split.ts).
   */
  | { kind: 'forward'; reducer: ReducerName }
  /** Split only, stage 1 of a row's gradient: each chunk's partial states of its statistic. */
  | { kind: 'statistic'; reducer: ReducerName }
  /**
   * A row's gradient: dx, x-sized, its statistic (if any) reduced in the same dispatch; split,
   * each chunk's dx, the statistic merged from the chunks' states (input `states`).
   */
  | { kind: 'gradient'; reducer: ReducerName };

/**
 * One workgroup per output row group (workgroupShape): invocation (column c, row j) takes output
 * element e = group * columns + c, i.e. output row o and feature f, and visits the reduced
 * positions j, j + rows, ... of its slice, reading the mask and x there through tfjs's accessors
 * (getMask, getX: bool is stored as i32, and any stored type converts to f32). The slice's
 * positions come from core's layout (kept runs give the row's base offset, reduced runs the
 * offset of each reduced position), so any axis set is read in place with strides: no transpose,
 * no x-sized temporary, no x- or mask-sized table.
 *
 * forward: the partial states merge in a tree in workgroup memory; row 0 finishes each output.
 * gradient: the statistic (count, ties) is reduced the same way first, then each invocation
 * writes dx at the positions it visited (every position of x belongs to exactly one slice, so
 * every element of dx is written: 0 where masked).
 *
 * With a split plan (split.ts: long slices, few outputs) there are `chunks` workgroups per row
 * group, each visiting one contiguous chunk of the reduced positions: forward and statistic
 * write the chunk's state instead of finishing it, the gradient merges the statistic from every
 * chunk's state and writes its own chunk's dx.
 *
 * Every size and stride is a uniform; the shader text depends on the reducer, the task, whether
 * more than one reduced run is walked, the workgroup shape and whether it is split, all in
 * `shaderKey` (tfjs adds the inputs' ranks and stored dtypes): a handful of shaders per op,
 * whatever the shapes.
 */
export class MaskedSliceProgram implements MaskedProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  uniformData: ProgramUniforms;
  private readonly code: string;

  constructor(task: SliceTask, s: Slices, split: SplitPlan | null = null) {
    const [columns, rows] = split?.shape ?? workgroupShape(s);
    const outSize = s.keptSize * s.inner;
    // One reduced run or none (every contiguous axis set): no division in the hot loop.
    const single = s.layout.reduced.length <= 1;
    const u = sliceUniforms(s);
    if (split !== null) {
      u.int('groups', split.groups).int('chunkSize', split.chunkSize).int('chunks', split.chunks);
    }
    this.uniforms = u.declarations.join(' ');
    this.uniformData = u.data;
    this.workgroupSize = [columns, rows, 1];
    const groups = Math.ceil(outSize / columns);
    // One workgroup per group of `columns` output elements (and chunk), a flat layout (what
    // webgpu_util.flatDispatchLayout / computeDispatch give; written out so that this package
    // imports only types from tfjs-backend-webgpu). tfjs reshapes a dispatch beyond the
    // per-dimension limit into 2-D or 3-D, and main() flattens the workgroup id back.
    this.dispatchLayout = { x: [0] };
    this.dispatch = [groups * (split?.chunks ?? 1), 1, 1];

    const shape = { columns, rows, single, split: split !== null };
    if (task.kind === 'gradient') {
      const gradient = GRADIENTS[task.reducer];
      if (gradient === undefined) throw new Error(`backend-webgpu: no gradient '${task.reducer}'`);
      this.variableNames = gradientInputs(gradient, split !== null);
      this.outputShape = [s.keptSize * s.reduceSize * s.inner];
      this.code = gradientCode(gradient, shape);
    } else {
      const reducer = task.kind === 'forward' ? REDUCERS[task.reducer] : statisticOf(task.reducer);
      if (reducer === undefined || reducer === null) {
        throw new Error(`backend-webgpu: no ${task.kind} for '${task.reducer}'`);
      }
      this.variableNames = reducerInputs(reducer);
      if (split === null) {
        if (task.kind !== 'forward') throw new Error('backend-webgpu: a statistic is split only');
        this.outputShape = [reducer.outputs * outSize];
        this.code = forwardCode(reducer, shape);
      } else {
        this.outputShape = [split.chunks * outSize * reducer.width];
        this.code = partialStatesCode(reducer, shape);
      }
    }
    this.shaderKey = `maskedOps_${task.kind}_${task.reducer}_${single ? 'r1' : 'rn'}_${columns}x${rows}${split === null ? '' : '_split'}`;
  }

  getUserCode(): string {
    return this.code;
  }
}

/** The statistic a row's gradient divides by (reducers.ts STATS), null if none. */
export function statisticOf(reducer: ReducerName): WgslReducer | null {
  const gradient = GRADIENTS[reducer];
  if (gradient === undefined) throw new Error(`backend-webgpu: no gradient '${reducer}'`);
  return statOf(gradient);
}

const statOf = (gradient: WgslGradient): WgslReducer | null =>
  gradient.stat === null ? null : STATS[gradient.stat as StatName];

/**
 * The gradient program's inputs, in order (the kernel passes them in this order); split, the
 * statistic's chunk states last (when it has one).
 */
export function gradientInputs(gradient: WgslGradient, split = false): string[] {
  return [
    'dy',
    'mask',
    ...(gradient.cotangents === 2 ? ['dy1'] : []),
    ...(gradient.readsXY ? ['x', 'y'] : []),
    ...(split && gradient.stat !== null ? ['states'] : []),
  ];
}

/** What a reduction over the slices reads: the mask, x unless it only counts, y for ties. */
export function reducerInputs(reducer: WgslReducer): string[] {
  return reducer.source === 'mask'
    ? ['mask']
    : reducer.source === 'x'
      ? ['x', 'mask']
      : ['x', 'mask', 'y'];
}

export interface Shape {
  columns: number;
  rows: number;
  /** At most one reduced run (reducedOffset is a multiplication). */
  single: boolean;
  /** Chunks of each slice in separate workgroups (uniforms groups, chunkSize). */
  split: boolean;
}

/**
 * Declarations and the prologue shared by the tasks: which output element, which slice, and the
 * reduced positions [first, last) this workgroup visits (a chunk, split; else the whole slice).
 */
function prologue({ columns, single, split }: Shape): { declarations: string; body: string } {
  const group = split
    ? `let chunk = groupIndex / uniforms.groups;
    let e = (groupIndex - chunk * uniforms.groups) * ${columns} + i32(localId.x);
    let first = chunk * uniforms.chunkSize;
    let last = min(first + uniforms.chunkSize, uniforms.reduceSize);`
    : `let e = groupIndex * ${columns} + i32(localId.x);
    let first = 0;
    let last = uniforms.reduceSize;`;
  return {
    declarations: `${offsetFunction('keptBase', 'kept', false)}
  ${offsetFunction('reducedOffset', 'red', single)}`,
    body: `
    ${flatGroupIndex}
    ${group}
    let live = e < uniforms.outSize;
    let inner = uniforms.inner;
    let o = e / inner;
    let f = e - o * inner;
    let base = keptBase(o);`,
  };
}

/** The workgroup's index in the (possibly 2-D or 3-D) dispatch. */
export const flatGroupIndex =
  'let groupIndex = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));';

/**
 * WGSL folding the invocation's share of positions [first, last) of its slice into `s`, then
 * merging the workgroup's states (treeMerge).
 */
function reduceSnippet(reducer: WgslReducer, shape: Shape): string {
  return `
    var s = stateInit();
    if (live) {
      ${shape.split && shape.single ? chunkLoop(reducer, shape) : sliceLoop(reducer, shape)}
    }
    ${treeMerge(shape.columns, shape.rows)}`;
}

/** What position `m` (a mask offset) contributes to the state, read through `xAt(index)`. */
function folded(reducer: WgslReducer, m: string, xAt: (index: string) => string): string {
  const x = xAt(`${m} * inner + f`);
  return reducer.source === 'mask' ? '1.0' : reducer.source === 'x' ? x : `term(${x}, yv)`;
}

/** The one-stage loop: any number of reduced runs, through tfjs's accessors. */
function sliceLoop(reducer: WgslReducer, { rows }: Shape): string {
  return `for (var r = first + i32(localId.y); r < last; r = r + ${rows}) {
        let m = base + reducedOffset(r);
        if (getMask(m) != 0.0) {
          s = stateFold(s, ${folded(reducer, 'm', (i) => `getX(${i})`)});
        }
      }`;
}

/** The loop over one chunk of a split reduction with one reduced run (chunkVisits). */
function chunkLoop(reducer: WgslReducer, shape: Shape): string {
  return chunkVisits(shape, (m) => {
    const next = `stateFold(s, ${folded(reducer, m, (i) => `f32(x[${i}])`)})`;
    return shape.columns === 1
      ? `s = select(s, ${next}, mask[${m}] != 0);`
      : `if (mask[${m}] != 0) { s = ${next}; }`;
  });
}

/**
 * WGSL running `visit(m)` (a statement) at the mask offset m of each of the invocation's
 * positions of its chunk, for a split reduction with one reduced run: the hot loops of the long
 * slices the split is for. On SwiftShader (measured at [4096,4096], every axis reduced) each of
 * these roughly halved the forward's time:
 * - four positions a step, the mask offsets advanced by additions (no uniform read or
 *   multiplication per position);
 * - the buffers indexed directly, as the accessors would (the views are flat, 1-D: the accessor's
 *   index is the offset); `mask[m] != 0` and `f32(x[i])` hold for any stored type;
 * - with one column, the lanes of an invocation group visit different positions, whose mask
 *   values differ: a branch would run both sides anyway, so the visits select instead (what a
 *   masked position computes is dropped: NaN/Inf there never reaches a state or dx). With
 *   several columns, the lanes are features of one position: a branch skips masked positions.
 */
function chunkVisits({ rows }: Shape, visit: (m: string) => string): string {
  return `let step = ${rows} * uniforms.redMask.x;
      var r = first + i32(localId.y);
      var m0 = base + reducedOffset(r);
      for (; r + ${3 * rows} < last; r = r + ${4 * rows}) {
        let m1 = m0 + step;
        let m2 = m1 + step;
        let m3 = m2 + step;
        ${visit('m0')}
        ${visit('m1')}
        ${visit('m2')}
        ${visit('m3')}
        m0 = m3 + step;
      }
      for (; r < last; r = r + ${rows}) {
        ${visit('m0')}
        m0 = m0 + step;
      }`;
}

/**
 * WGSL merging every invocation's `s` in a tree in workgroup memory; afterwards
 * `partials[localId.x]` holds column c's state. The barriers are in uniform control flow (the
 * tree loop depends on constants only); invocations past the last output element hold
 * stateInit() and still take part in every barrier.
 */
export function treeMerge(columns: number, rows: number): string {
  return `let slot = localId.y * ${columns}u + localId.x;
    partials[slot] = s;
    workgroupBarrier();${
      rows === 1
        ? ''
        : `
    for (var width = ${rows / 2}u; width > 0u; width = width / 2u) {
      if (localId.y < width) {
        partials[slot] = stateMerge(partials[slot], partials[slot + width * ${columns}u]);
      }
      workgroupBarrier();
    }`
    }`;
}

export const partialsDeclaration = (columns: number, rows: number): string =>
  `var<workgroup> partials : array<State, ${columns * rows}>;`;

/** WGSL writing the finished outputs of `total`, output element e's merged state. */
export const finishWrites = (reducer: WgslReducer): string =>
  Array.from(
    { length: reducer.outputs },
    (_, k) => `setOutputAtIndex(${k} * uniforms.outSize + e, stateFinish(total, ${k}));`,
  ).join('\n      ');

/** y, read once per output element (the ties statistic and the gradients read it). */
const readY = 'var yv = 0.0; if (live) { yv = getY(e); }';

/**
 * A reduction's shader: each output element's state folded over the workgroup's positions and
 * merged in workgroup memory, then `finish` run by row 0 with the merged state in `total`.
 */
function reduceCode(reducer: WgslReducer, shape: Shape, finish: string): string {
  const p = prologue(shape);
  return `
  ${reducer.code}
  ${partialsDeclaration(shape.columns, shape.rows)}
  ${p.declarations}
  fn main(index : i32) {
    ${p.body}
    ${reducer.source === 'xy' ? readY : ''}
    ${reduceSnippet(reducer, shape)}
    if (live && localId.y == 0u) {
      let total = partials[localId.x];
      ${finish}
    }
  }`;
}

/** The one-stage forward: the finished outputs. */
const forwardCode = (reducer: WgslReducer, shape: Shape): string =>
  reduceCode(reducer, shape, finishWrites(reducer));

/** Stage 1 of a split reduction: the chunk's state of each output element, [chunks, outSize, width]. */
function partialStatesCode(reducer: WgslReducer, shape: Shape): string {
  const stores = Array.from({ length: reducer.width }, (_, k) =>
    reducer.width === 1
      ? 'setOutputAtIndex(i, total);'
      : `setOutputAtIndex(i + ${k}, total[${k}]);`,
  ).join('\n      ');
  return reduceCode(
    reducer,
    shape,
    `let i = (chunk * uniforms.outSize + e) * ${reducer.width};
      ${stores}`,
  );
}

/**
 * WGSL loading state `i` of the `states` input ([chunks, outSize, width] floats, what
 * partialStatesCode writes).
 */
export function stateLoad(reducer: WgslReducer): string {
  const w = reducer.width;
  const parts = Array.from({ length: w }, (_, k) => `getStates(i * ${w} + ${k})`).join(', ');
  return `
  fn stateLoad(i : i32) -> State {
    return ${w === 1 ? parts : `vec${w}<f32>(${parts})`};
  }`;
}

/**
 * WGSL merging output element e's states over every chunk into `s` (each invocation a share of
 * the chunks), then in the workgroup's tree; afterwards `partials[localId.x]` holds the whole
 * slice's state.
 */
export function mergeChunksSnippet(columns: number, rows: number): string {
  return `
    var s = stateInit();
    if (live) {
      for (var c = i32(localId.y); c < uniforms.chunks; c = c + ${rows}) {
        s = stateMerge(s, stateLoad(c * uniforms.outSize + e));
      }
    }
    ${treeMerge(columns, rows)}`;
}

function gradientCode(gradient: WgslGradient, shape: Shape): string {
  const p = prologue(shape);
  const stat = statOf(gradient);
  // Split, the statistic is merged from the chunks' states (every chunk's workgroups merge all
  // of them: a few hundred states, against thousands of positions written).
  const statSnippet =
    stat === null
      ? ''
      : `${shape.split ? mergeChunksSnippet(shape.columns, shape.rows) : reduceSnippet(stat, shape)}
    let stat = stateFinish(partials[localId.x], 0);`;
  return `
  ${stat === null ? '' : `${stat.code}\n  ${partialsDeclaration(shape.columns, shape.rows)}`}
  ${stat !== null && shape.split ? stateLoad(stat) : ''}
  ${gradient.functions ?? ''}
  ${p.declarations}
  fn main(index : i32) {
    ${p.body}
    ${gradient.readsXY ? readY : ''}
    ${statSnippet}
    if (live) {
      let dy = getDy(e);
      ${gradient.cotangents === 2 ? 'let dy1 = getDy1(e);' : ''}
      ${shape.split && shape.single ? chunkVisits(shape, (m) => writeDx(gradient, shape, m)) : sliceDx(gradient, shape)}
    }
  }`;
}

/** The one-stage gradient's loop: dx over the slice, any number of reduced runs. */
function sliceDx(gradient: WgslGradient, { rows }: Shape): string {
  return `for (var r = first + i32(localId.y); r < last; r = r + ${rows}) {
        let m = base + reducedOffset(r);
        let i = m * inner + f;
        var dx = 0.0;
        if (getMask(m) != 0.0) {
          ${gradient.readsXY ? 'let xv = getX(i);' : ''}
          dx = ${gradient.expr};
        }
        setOutputAtIndex(i, dx);
      }`;
}

/** A split gradient's visit of mask offset m (chunkVisits): dx there, in a block of its own. */
function writeDx(gradient: WgslGradient, { columns }: Shape, m: string): string {
  const xv = gradient.readsXY ? 'let xv = f32(x[i]);' : '';
  return columns === 1
    ? `{
          let i = ${m} * inner + f;
          ${xv}
          setOutputAtIndex(i, select(0.0, ${gradient.expr}, mask[${m}] != 0));
        }`
    : `{
          let i = ${m} * inner + f;
          var dx = 0.0;
          if (mask[${m}] != 0) {
            ${xv}
            dx = ${gradient.expr};
          }
          setOutputAtIndex(i, dx);
        }`;
}
