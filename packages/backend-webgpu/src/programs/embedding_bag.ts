import type { EmbeddingBagMode } from '@masked-ops/core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { ProgramUniforms } from './slice.js';
import { Uniforms } from './slice.js';

/**
 * Programs of the embedding bag (docs/SPEC.md "Embedding bag"; kernels/embedding_bag.ts drives
 * them): one invocation per output element (or per contribution), a flat layout of 64-wide
 * workgroups. Ids and offsets are read through tfjs's accessors (int32, converted with `i32()`),
 * never read back to the host: an out-of-range id is skipped like padding, and offsets are
 * clamped into [0, nnz] and made non-decreasing, so bad offsets give unspecified values but never
 * a read outside the ids. Sizes are uniforms; the shader text depends on the program, the mode
 * and whether per-sample weights are given, all in `shaderKey`.
 */

export interface BagShape {
  numEmbeddings: number;
  dim: number;
  nnz: number;
  batch: number;
  /** Normalised, -1 for none. */
  paddingId: number;
}

const WORKGROUP = 64;

/** WGSL shared by the programs: real ids, bag bounds. */
const COMMON = `
  // A row of the table that is not the padding id (pad is -1 for none); out-of-range ids are
  // skipped like padding (the GPU backends never read ids back to report them).
  fn isReal(id : i32) -> bool {
    return id >= 0 && id < uniforms.rows && id != uniforms.pad;
  }
  fn bagStart(b : i32) -> i32 {
    return clamp(i32(getOffsets(b)), 0, uniforms.nnz);
  }
  fn bagEnd(b : i32, start : i32) -> i32 {
    return clamp(i32(getOffsets(b + 1)), start, uniforms.nnz);
  }`;

/** Whether x is one of the values that produced the max y (a NaN ties a NaN). */
const TIED = `
  fn tied(x : f32, y : f32) -> bool {
    return x == y || (isnan(x) && isnan(y));
  }`;

/** A program over `work` invocations, with the bag uniforms. */
abstract class BagProgram implements WebGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms: string;
  uniformData: ProgramUniforms;

  constructor(key: string, outputSize: number, work: number, s: BagShape) {
    this.outputShape = [outputSize];
    this.shaderKey = `maskedOps_bag_${key}`;
    // A flat layout (as webgpu_util.flatDispatchLayout / computeDispatch give; only types are
    // imported from tfjs-backend-webgpu): tfjs folds a long dispatch into 2-D or 3-D and passes
    // main() the flat global index.
    this.dispatch = [Math.ceil(work / WORKGROUP), 1, 1];
    const u = new Uniforms()
      .int('work', work)
      .int('rows', s.numEmbeddings)
      .int('dim', s.dim)
      .int('nnz', s.nnz)
      .int('batch', s.batch)
      .int('pad', s.paddingId);
    this.uniforms = u.declarations.join(' ');
    this.uniformData = u.data;
  }

  abstract getUserCode(): string;
}

/**
 * Forward, output `[batch * dim]`: element (b, col) walks bag b's ids, gathers `weight[id, col]`
 * (times the per-sample weight in mode 'sum') and folds it. Sum and mean fold `v * scale`, a
 * power of two with `2^k >= bag length` (exact): a partial sum stays within the largest |v| (a
 * mean of 3e38s is 3e38; a sum overflows only if its result does). Max: the first real id
 * initialises the accumulator (no identity value), a real NaN sticks. An empty bag gives 0.
 */
export class BagForwardProgram extends BagProgram {
  variableNames: string[];
  private readonly mode: EmbeddingBagMode;
  private readonly weighted: boolean;

  constructor(mode: EmbeddingBagMode, s: BagShape, weighted: boolean) {
    super(`forward_${mode}_${weighted}`, s.batch * s.dim, s.batch * s.dim, s);
    this.mode = mode;
    this.weighted = weighted;
    this.variableNames = ['weight', 'ids', 'offsets', ...(weighted ? ['psw'] : [])];
  }

  getUserCode(): string {
    const value = `getWeight(id * uniforms.dim + col)${this.weighted ? ' * getPsw(p)' : ''}`;
    const fold =
      this.mode === 'max'
        ? `if (count == 0.0 || (!isnan(acc) && (isnan(v) || v > acc))) { acc = v; }
          count = 1.0;`
        : `acc = acc + v * scale;
          count = count + scale;`;
    const finish =
      this.mode === 'max'
        ? 'acc'
        : this.mode === 'sum'
          ? 'acc / scale'
          : 'select(0.0, acc / count, count > 0.0)';
    return `
  ${COMMON}
  fn main(index : i32) {
    if (index >= uniforms.work) { return; }
    let b = index / uniforms.dim;
    let col = index - b * uniforms.dim;
    let start = bagStart(b);
    let end = bagEnd(b, start);
    var scale = 1.0;
    var room = 1;
    while (room < end - start) { room = room * 2; scale = scale * 0.5; }
    var acc = 0.0;
    var count = 0.0;
    for (var p = start; p < end; p = p + 1) {
      let id = i32(getIds(p));
      if (isReal(id)) {
        let v = ${value};
        ${fold}
      }
    }
    setOutputAtIndex(index, select(0.0, ${finish}, count > 0.0));
  }`;
  }
}

/** Zeros of `size` values: d weight's accumulator, and outputs with nothing to read. */
export class BagZerosProgram extends BagProgram {
  variableNames: string[] = [];

  constructor(size: number) {
    super('zeros', size, size, { numEmbeddings: 0, dim: 0, nnz: 0, batch: 0, paddingId: -1 });
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.work) { setOutputAtIndex(index, 0.0); }
  }`;
  }
}

/**
 * d weight, accumulated into a zeroed `[numEmbeddings * dim]` output (`atomic`: tfjs binds it as
 * `array<atomic<i32>>`; a float add is a compare-exchange loop on the bit pattern, as tfjs's own
 * scatter does). Invocation (b, col) first reduces its bag's statistic (mean: the real ids; max:
 * the real ids whose row ties y at col), then adds its contribution to row id, col for every real
 * id of the bag: `dy * psw` (sum), `dy / count` (mean), `dy / ties` at the tied ids (max). Rows no
 * real id touches keep their exact 0. The order of the adds is not fixed: the sums are exact up to
 * float32 rounding of a different order.
 */
export class BagWeightGradProgram extends BagProgram {
  variableNames: string[];
  readonly atomic = true;
  private readonly mode: EmbeddingBagMode;
  private readonly weighted: boolean;

  constructor(mode: EmbeddingBagMode, s: BagShape, weighted: boolean) {
    super(`weightGrad_${mode}_${weighted}`, s.numEmbeddings * s.dim, s.batch * s.dim, s);
    this.mode = mode;
    this.weighted = weighted;
    this.variableNames = [
      'dy',
      'ids',
      'offsets',
      ...(weighted ? ['psw'] : []),
      ...(mode === 'max' ? ['weight', 'y'] : []),
    ];
  }

  getUserCode(): string {
    const max = this.mode === 'max';
    const counts = this.mode === 'mean' || max;
    const selects = max ? ' && tied(getWeight(id * uniforms.dim + col), yv)' : '';
    const term = this.weighted ? 'g * getPsw(p)' : 'g';
    return `
  ${COMMON}
  ${max ? TIED : ''}
  fn addTo(i : i32, v : f32) {
    var old = atomicLoad(&result[i]);
    loop {
      let r = atomicCompareExchangeWeak(&result[i], old, bitcast<i32>(bitcast<f32>(old) + v));
      if (r.exchanged) { break; }
      old = r.old_value;
    }
  }
  fn main(index : i32) {
    if (index >= uniforms.work) { return; }
    let b = index / uniforms.dim;
    let col = index - b * uniforms.dim;
    let start = bagStart(b);
    let end = bagEnd(b, start);
    ${max ? 'let yv = getY(index);' : ''}
    var g = getDy(index);
    ${
      counts
        ? `var n = 0.0;
    for (var p = start; p < end; p = p + 1) {
      let id = i32(getIds(p));
      if (isReal(id)${selects}) { n = n + 1.0; }
    }
    if (n == 0.0) { return; }
    g = g / n;`
        : ''
    }
    for (var p = start; p < end; p = p + 1) {
      let id = i32(getIds(p));
      if (isReal(id)${selects}) { addTo(id * uniforms.dim + col, ${term}); }
    }
  }`;
  }
}

/**
 * d perSampleWeights, output `[nnz]`: position p's bag (the number of bag ends at or before p, by
 * binary search over the offsets), then dy of that bag dotted with the id's row; 0 at padding, at
 * skipped ids and at positions outside every bag.
 */
export class BagSampleWeightsGradProgram extends BagProgram {
  variableNames = ['dy', 'weight', 'ids', 'offsets'];

  constructor(s: BagShape) {
    super('sampleWeightsGrad', s.nnz, s.nnz, s);
  }

  getUserCode(): string {
    return `
  ${COMMON}
  fn main(index : i32) {
    if (index >= uniforms.work) { return; }
    var lo = 0;
    var hi = uniforms.batch;
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      if (i32(getOffsets(mid + 1)) <= index) { lo = mid + 1; } else { hi = mid; }
    }
    let id = i32(getIds(index));
    var total = 0.0;
    if (lo < uniforms.batch && bagStart(lo) <= index && isReal(id)) {
      let row = id * uniforms.dim;
      let g = lo * uniforms.dim;
      for (var c = 0; c < uniforms.dim; c = c + 1) {
        total = total + getDy(g + c) * getWeight(row + c);
      }
    }
    setOutputAtIndex(index, total);
  }`;
  }
}
