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

/** What a slice program computes. */
export type SliceTask =
  /** The forward reduction of a table row: `outputs` values per output element, [k, outSize]. */
  | { kind: 'forward'; reducer: ReducerName }
  /** A row's gradient: dx, x-sized, its statistic (if any) reduced in the same dispatch. */
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
 * Every size and stride is a uniform; the shader text depends on the reducer, the task, whether
 * more than one reduced run is walked, and the workgroup shape, all in `shaderKey` (tfjs adds
 * the inputs' ranks and stored dtypes): a handful of shaders per op, whatever the shapes.
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

  constructor(task: SliceTask, s: Slices) {
    const [columns, rows] = workgroupShape(s);
    const outSize = s.keptSize * s.inner;
    // One reduced run or none (every contiguous axis set): no division in the hot loop.
    const single = s.layout.reduced.length <= 1;
    const scale = 1 / nextPowerOfTwo(s.reduceSize);
    const u = new Uniforms()
      .int('inner', s.inner)
      .int('outSize', outSize)
      .int('reduceSize', s.reduceSize)
      .float('scale', scale)
      .float('outScale', 1 / scale)
      .runs('kept', s.layout.kept)
      .runs('red', s.layout.reduced);
    this.uniforms = u.declarations.join(' ');
    this.uniformData = u.data;
    this.workgroupSize = [columns, rows, 1];
    const groups = Math.ceil(outSize / columns);
    // One workgroup per group of `columns` output elements, a flat layout (what
    // webgpu_util.flatDispatchLayout / computeDispatch give; written out so that this package
    // imports only types from tfjs-backend-webgpu). tfjs reshapes a dispatch beyond the
    // per-dimension limit into 2-D or 3-D, and main() flattens the workgroup id back.
    this.dispatchLayout = { x: [0] };
    this.dispatch = [groups, 1, 1];

    const common = { columns, rows, single };
    if (task.kind === 'forward') {
      const reducer = REDUCERS[task.reducer];
      if (reducer === undefined) throw new Error(`backend-webgpu: no reducer '${task.reducer}'`);
      this.variableNames = ['x', 'mask'];
      this.outputShape = [reducer.outputs * outSize];
      this.code = forwardCode(reducer, common);
    } else {
      const gradient = GRADIENTS[task.reducer];
      if (gradient === undefined) throw new Error(`backend-webgpu: no gradient '${task.reducer}'`);
      this.variableNames = gradientInputs(gradient);
      this.outputShape = [s.keptSize * s.reduceSize * s.inner];
      this.code = gradientCode(gradient, common);
    }
    this.shaderKey = `maskedOps_${task.kind}_${task.reducer}_${single ? 'r1' : 'rn'}_${columns}x${rows}`;
  }

  getUserCode(): string {
    return this.code;
  }
}

/** The gradient program's inputs, in order (the kernel passes them in this order). */
export function gradientInputs(gradient: WgslGradient): string[] {
  return [
    'dy',
    'mask',
    ...(gradient.cotangents === 2 ? ['dy1'] : []),
    ...(gradient.readsXY ? ['x', 'y'] : []),
  ];
}

interface Shape {
  columns: number;
  rows: number;
  single: boolean;
}

/** Declarations and the prologue shared by both tasks: which output element, which slice. */
function prologue({ columns, single }: Shape): { declarations: string; body: string } {
  return {
    declarations: `${offsetFunction('keptBase', 'kept', false)}
  ${offsetFunction('reducedOffset', 'red', single)}`,
    body: `
    let groupIndex = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));
    let e = groupIndex * ${columns} + i32(localId.x);
    let live = e < uniforms.outSize;
    let o = e / uniforms.inner;
    let f = e - o * uniforms.inner;
    let base = keptBase(o);`,
  };
}

/**
 * WGSL folding the invocation's share of its slice into `s`, then merging the workgroup's
 * states in a tree; afterwards `partials[localId.x]` holds column c's state. The barriers are in
 * uniform control flow (the tree loop depends on constants only); invocations past the last output
 * element fold nothing but still take part in every barrier.
 */
function reduceSnippet(reducer: WgslReducer, { columns, rows }: Shape): string {
  const x = 'getX(m * uniforms.inner + f)';
  const value = reducer.source === 'mask' ? '1.0' : reducer.source === 'x' ? x : `term(${x}, yv)`;
  return `
    var s = stateInit();
    if (live) {
      for (var r = i32(localId.y); r < uniforms.reduceSize; r = r + ${rows}) {
        let m = base + reducedOffset(r);
        if (getMask(m) != 0.0) {
          s = stateFold(s, ${value});
        }
      }
    }
    let slot = localId.y * ${columns}u + localId.x;
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

const partialsDeclaration = ({ columns, rows }: Shape): string =>
  `var<workgroup> partials : array<State, ${columns * rows}>;`;

function forwardCode(reducer: WgslReducer, shape: Shape): string {
  const p = prologue(shape);
  const writes = Array.from(
    { length: reducer.outputs },
    (_, k) => `setOutputAtIndex(${k} * uniforms.outSize + e, stateFinish(total, ${k}));`,
  ).join('\n      ');
  return `
  ${reducer.code}
  ${partialsDeclaration(shape)}
  ${p.declarations}
  fn main(index : i32) {
    ${p.body}
    ${reduceSnippet(reducer, shape)}
    if (live && localId.y == 0u) {
      let total = partials[localId.x];
      ${writes}
    }
  }`;
}

function gradientCode(gradient: WgslGradient, shape: Shape): string {
  const p = prologue(shape);
  const stat: WgslReducer | null = gradient.stat === null ? null : STATS[gradient.stat as StatName];
  // y is read once per output element: by the ties statistic and by the expression.
  const readY = gradient.readsXY ? 'var yv = 0.0; if (live) { yv = getY(e); }' : '';
  const statSnippet =
    stat === null
      ? ''
      : `${reduceSnippet(stat, shape)}
    let stat = stateFinish(partials[localId.x], 0);`;
  return `
  ${stat === null ? '' : `${stat.code}\n  ${partialsDeclaration(shape)}`}
  ${gradient.functions ?? ''}
  ${p.declarations}
  fn main(index : i32) {
    ${p.body}
    ${readY}
    ${statSnippet}
    if (live) {
      let dy = getDy(e);
      ${gradient.cotangents === 2 ? 'let dy1 = getDy1(e);' : ''}
      for (var r = i32(localId.y); r < uniforms.reduceSize; r = r + ${shape.rows}) {
        let m = base + reducedOffset(r);
        let i = m * uniforms.inner + f;
        var dx = 0.0;
        if (getMask(m) != 0.0) {
          ${gradient.readsXY ? 'let xv = getX(i);' : ''}
          dx = ${gradient.expr};
        }
        setOutputAtIndex(i, dx);
      }
    }
  }`;
}
