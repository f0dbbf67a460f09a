import type { SoftmaxDim, SoftmaxGeometry } from '@masked-ops/core';
import type { MaskedProgram, ProgramUniforms } from './slice.js';
import { Uniforms } from './slice.js';

/**
 * Merged dims of each side (before / after the axis) a program takes: their flat and mask strides
 * are vec4 uniforms. Core's geometry merges adjacent dims that broadcast alike, so any mask over
 * logits of rank <= 5, and every attention pattern (key padding, causal, full), fits.
 */
export const MAX_SOFTMAX_DIMS = 4;

/**
 * The workgroup `[lanes, rows]`: `lanes` invocations share a softmax row (striding over it, then
 * merging max and sum in a tree in workgroup memory), `rows` rows per workgroup. Baked into the
 * shader (workgroup size, shared array lengths), so there are two: every shader costs a
 * compilation (0.3-1 s on SwiftShader). SwiftShader runs a workgroup's invocations on one CPU
 * thread and switches between them at every barrier, so barriers (2 log2(lanes) + 2 per
 * dispatch) are what short rows pay for: few lanes for them, many for long rows, where a row
 * is the whole workgroup's work and the tree is short next to the loop.
 */
export function softmaxWorkgroup(n: number): [number, number] {
  return n >= 1024 ? [64, 1] : [8, 4];
}

/** Row-major strides of merged dims, padded to MAX_SOFTMAX_DIMS (flat 1, mask 0: index 0). */
function dimStrides(dims: readonly SoftmaxDim[], side: string): { flat: Vec4; mask: Vec4 } {
  if (dims.length > MAX_SOFTMAX_DIMS) {
    throw new Error(
      `backend-webgpu: the mask broadcasts in ${dims.length} separate runs of dims ${side} the softmax axis; at most ${MAX_SOFTMAX_DIMS} are supported`,
    );
  }
  const flat: number[] = [1, 1, 1, 1];
  const mask: number[] = [0, 0, 0, 0];
  let stride = 1;
  for (let j = dims.length - 1; j >= 0; j--) {
    flat[j] = stride;
    mask[j] = dims[j]!.maskStride;
    stride *= dims[j]!.size;
  }
  return { flat: flat as Vec4, mask: mask as Vec4 };
}

type Vec4 = [number, number, number, number];

/** WGSL decomposing `index` over merged dims (uniforms `<prefix>Flat`, `<prefix>Mask`). */
const decompose = (prefix: string, index: string): string =>
  [0, 1, 2, 3]
    .map(
      (j) => `
    q = rest / uniforms.${prefix}Flat[${j}];
    rest = rest - q * uniforms.${prefix}Flat[${j}];
    base = base + q * uniforms.${prefix}Mask[${j}];`,
    )
    .join('')
    .replace(/^/, `rest = ${index};`);

/** What a softmax program computes. */
export interface SoftmaxTask {
  kind: 'forward' | 'gradient';
  /** log-softmax (core's MaskedSoftmaxRow.log). */
  log: boolean;
}

/**
 * The masked softmax programs: one workgroup per `rows` softmax rows (softmaxWorkgroup), one
 * dispatch per call. Row r = (o, i) of core's softmaxGeometry has elements (o n + k) inner + i and
 * mask offsets maskBase(o, i) + k maskAxis, maskBase decomposing o over the merged outer dims and
 * i over the merged inner dims (mask stride 0 where it broadcasts): the mask is read in place,
 * never copied, and nothing is x-, mask- or row-sized in JS. Inputs are read only through tfjs's
 * accessors (`getLogits`, `getMask`, ...: a bool mask is stored as i32).
 *
 * forward, per row over its valid positions: (1) the max of the values that are neither NaN
 * nor +Inf, and flags (any valid; any valid NaN or +Inf), merged in a tree; (2) the sum of
 * exp(x - max) (softmax: each exp(x - max) is written to the output, 0 at masked positions),
 * merged in a tree; (3) softmax: the output scaled by 1 / sum in place (each invocation rereads
 * what it wrote itself: one exp per element); log: (x - max) - log(sum) at valid positions, -Inf
 * at masked ones. A row with no finite valid maximum or with a valid NaN/+Inf is written in (3)
 * from its flags alone (SwiftShader's exp(NaN) / log(NaN) are not NaN, so no NaN is left to exp).
 *
 * gradient: (1) the row sum over valid positions of y dy (softmax) or dy (log), merged in a
 * tree; (2) dx = valid ? y (dy - s) : 0, or valid ? dy - exp(y) t : 0.
 *
 * Sizes and strides are uniforms; the shader text depends on the task, `log` and the workgroup
 * shape only, all in `shaderKey` (tfjs adds the inputs' ranks and stored dtypes).
 */
export class MaskedSoftmaxProgram implements MaskedProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  uniformData: ProgramUniforms;
  private readonly code: string;

  constructor(task: SoftmaxTask, g: SoftmaxGeometry) {
    const [lanes, rows] = softmaxWorkgroup(g.n);
    const rowCount = g.outer * g.inner;
    const outer = dimStrides(g.outerDims, 'before');
    const inner = dimStrides(g.innerDims, 'after');
    const u = new Uniforms()
      .int('n', g.n)
      .int('inner', g.inner)
      .int('rows', rowCount)
      .int('maskAxis', g.maskAxisStride)
      .int4('outerFlat', outer.flat)
      .int4('outerMask', outer.mask)
      .int4('innerFlat', inner.flat)
      .int4('innerMask', inner.mask);
    this.uniforms = u.declarations.join(' ');
    this.uniformData = u.data;
    this.workgroupSize = [lanes, rows, 1];
    // A flat layout, one workgroup per `rows` rows (only types are imported from
    // tfjs-backend-webgpu); tfjs reshapes a dispatch beyond the per-dimension limit into 2-D or
    // 3-D, and main() flattens the workgroup id back.
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(rowCount / rows), 1, 1];
    this.outputShape = [rowCount * g.n];
    this.variableNames = task.kind === 'forward' ? ['logits', 'mask'] : ['dy', 'mask', 'y'];
    const shape = { lanes, rows };
    this.code =
      task.kind === 'forward' ? forwardCode(task.log, shape) : gradientCode(task.log, shape);
    this.shaderKey = `maskedOps_softmax_${task.kind}_${task.log ? 'log' : 'exp'}_${lanes}x${rows}`;
  }

  getUserCode(): string {
    return this.code;
  }
}

interface Shape {
  lanes: number;
  rows: number;
}

/**
 * Declarations and the prologue of both tasks: which row, its first element and mask offset,
 * the invocation's lane and slot in workgroup memory; `forEach(body)` visits the lane's share
 * of the row (`e`: element index, `valid`: the mask there).
 */
function prologue({ lanes, rows }: Shape): string {
  return `
    let groupIndex = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));
    let row = groupIndex * ${rows} + i32(localId.y);
    let live = row < uniforms.rows;
    let o = row / uniforms.inner;
    let i = row - o * uniforms.inner;
    let xBase = o * uniforms.n * uniforms.inner + i;
    var rest = 0;
    var q = 0;
    var base = 0;
    ${decompose('outer', 'o')}
    ${decompose('inner', 'i')}
    let maskBase = base;
    let lane = i32(localId.x);
    let slot = localId.y * ${lanes}u + localId.x;
    let head = localId.y * ${lanes}u;`;
}

/** A loop over the lane's positions of its row, `e` the element index, `valid` the mask. */
const forEach = ({ lanes }: Shape, body: string): string => `
      for (var k = lane; k < uniforms.n; k = k + ${lanes}) {
        let e = xBase + k * uniforms.inner;
        let valid = getMask(maskBase + k * uniforms.maskAxis) != 0.0;
        ${body}
      }`;

/**
 * A tree merge of `array` over each row's lanes; afterwards `array[head]` holds the row's value.
 * Barriers stay in uniform control flow: the loop depends on constants only, and invocations
 * past the last row take part with their identity values.
 */
const tree = ({ lanes }: Shape, merges: string): string => `
    workgroupBarrier();
    for (var width = ${lanes / 2}u; width > 0u; width = width / 2u) {
      if (localId.x < width) {
        ${merges}
      }
      workgroupBarrier();
    }`;

function forwardCode(log: boolean, shape: Shape): string {
  const size = shape.lanes * shape.rows;
  const maskedValue = log ? '-uniforms.INFINITY' : '0.0';
  // softmax: exp(x - max) goes to the output in pass 2 (0 where masked) and is scaled in place;
  // log: pass 2 only sums, pass 3 recomputes x - max (no exp).
  const pass2 = log
    ? `if (valid) {
          let v = getLogits(e);
          if (v != -uniforms.INFINITY) { s = s + exp(v - rowMax); }
        }`
    : `var ex = 0.0;
        if (valid) {
          let v = getLogits(e);
          if (v != -uniforms.INFINITY) { ex = exp(v - rowMax); }
          s = s + ex;
        }
        result[e] = ex;`;
  const pass3 = log
    ? `let logSum = log(rowSum);
      ${forEach(shape, 'var out = -uniforms.INFINITY; if (valid) { out = (getLogits(e) - rowMax) - logSum; } result[e] = out;')}`
    : `for (var k = lane; k < uniforms.n; k = k + ${shape.lanes}) {
        let e = xBase + k * uniforms.inner;
        result[e] = result[e] / rowSum;
      }`;
  return `
  var<workgroup> maxes : array<f32, ${size}>;
  var<workgroup> flags : array<u32, ${size}>;
  var<workgroup> sums : array<f32, ${size}>;
  fn main(index : i32) {
    ${prologue(shape)}
    // Pass 1: the max of the valid values that are neither NaN nor +Inf (so max() never meets
    // a NaN); flags: 1 any valid position, 2 a valid NaN or +Inf (the row's valid values NaN).
    var m = -uniforms.INFINITY;
    var f = 0u;
    if (live) {
      ${forEach(
        shape,
        `if (valid) {
          let v = getLogits(e);
          f = f | 1u;
          if (isnan(v) || v == uniforms.INFINITY) { f = f | 2u; } else { m = max(m, v); }
        }`,
      )}
    }
    maxes[slot] = m;
    flags[slot] = f;
    ${tree(shape, 'maxes[slot] = max(maxes[slot], maxes[slot + width]); flags[slot] = flags[slot] | flags[slot + width];')}
    let rowMax = maxes[head];
    let rowFlags = flags[head];
    // Some finite valid value and no valid NaN/+Inf: the arithmetic path.
    let normal = rowFlags == 1u && rowMax != -uniforms.INFINITY;
    // Pass 2: the sum of exp(x - max) over valid positions (arguments <= 0: no overflow).
    var s = 0.0;
    if (live && normal) {
      ${forEach(shape, pass2)}
    }
    sums[slot] = s;
    ${tree(shape, 'sums[slot] = sums[slot] + sums[slot + width];')}
    let rowSum = sums[head];
    if (live) {
      if (normal) {
        ${pass3}
      } else {
        // No valid position: all 0. A valid NaN/+Inf: NaN at valid positions. Only valid -Inf:
        // the softmax's 0 (log: -Inf) there.
        let atValid = select(${maskedValue}, uniforms.NAN, (rowFlags & 2u) != 0u);
        let atMasked = select(${maskedValue}, 0.0, rowFlags == 0u);
        ${forEach(shape, 'result[e] = select(atMasked, atValid, valid);')}
      }
    }
  }`;
}

function gradientCode(log: boolean, shape: Shape): string {
  const size = shape.lanes * shape.rows;
  // exp(y) with NaN explicit (SwiftShader's exp(NaN) is not NaN); y = -Inf gives exp 0.
  const dx = log
    ? `var ey = 0.0;
          if (isnan(yv)) { ey = uniforms.NAN; } else if (yv != -uniforms.INFINITY) { ey = exp(yv); }
          dx = getDy(e) - ey * rowSum;`
    : 'dx = yv * (getDy(e) - rowSum);';
  return `
  var<workgroup> sums : array<f32, ${size}>;
  fn main(index : i32) {
    ${prologue(shape)}
    // Pass 1: the row sum over valid positions only (dy may be NaN at masked ones).
    var s = 0.0;
    if (live) {
      ${forEach(shape, `if (valid) { s = s + ${log ? 'getDy(e)' : 'getY(e) * getDy(e)'}; }`)}
    }
    sums[slot] = s;
    ${tree(shape, 'sums[slot] = sums[slot] + sums[slot + width];')}
    let rowSum = sums[head];
    if (live) {
      ${forEach(
        shape,
        `var dx = 0.0;
        if (valid) {
          let yv = getY(e);
          ${dx}
        }
        result[e] = dx;`,
      )}
    }
  }`;
}
