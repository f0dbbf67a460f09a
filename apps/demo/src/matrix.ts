import {
  type MaskedReduction,
  maskedLogSoftmax,
  maskedSoftmax,
  type ReducerName,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from '@masked-ops/core';
import {
  allowedError,
  type ConformanceCase,
  caseGradReference,
  caseGradScales,
  caseReference,
  compareValues,
  conformanceCases,
  type Expected,
  outputSize,
  type Precision,
  randomFloats,
  randomMask,
  runOp,
  type SoftmaxCase,
  seededRandom,
  softmaxCases,
} from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { type MatrixOp, rowOf, type SoftmaxName, softmaxRowOf, specOf } from './ops.js';
import { maskShapeOf, type ShapeSpec, shapeLabel } from './shapes.js';

/**
 * The cross-backend matrix: every op (core's reductions and softmaxes) runs the same cases on
 * every backend (in Node and in the browser), forward and gradient of each of its outputs
 * (maskedMoments has two); each output is compared with the float64 reference and with every
 * other backend, through core's one comparison (`compareValues`). Cases are regenerated from a
 * small spec on each side, so only the spec crosses into the browser and only results come back.
 * What differs between the ops' kinds (their cases, how a case runs, their reference) is one
 * OpKind each; the rest of the matrix does not know which kind it holds.
 */
export interface MatrixSpec {
  /**
   * The user's own cases (see shapes.ts): BxTxF pools over time, `...:all` reduces everything;
   * the softmaxes take the same shapes (see softmaxUserCases).
   */
  shapes: ShapeSpec[];
  density: number;
  seed: number;
  /** Also run the shared conformance cases of @masked-ops/core/testing. */
  conformance: boolean;
  /** The ops to run, in report order. */
  ops: MatrixOp[];
}

/** One op on one case (a reduction's case, or a softmax's). */
export type MatrixRun =
  | { op: ReducerName; case: ConformanceCase }
  | { op: SoftmaxName; case: SoftmaxCase };

/** One output of an op on one case: its value, and dx of it alone (the case's dy as cotangent). */
export interface OutputResult {
  y: number[];
  dx: number[];
}

export interface CaseResult {
  op: MatrixOp;
  name: string;
  /** Per output of the op's row, in the row's order (`outputs`). */
  outputs: OutputResult[];
}

interface Expectation {
  forward: Expected;
  gradient: Expected;
  halfUnsafe: boolean;
}

/**
 * What the matrix needs to know about a kind of op: its cases (the shared conformance cases and
 * the user's shapes), how one case runs on the active backend (every output forward, and each
 * output's gradient alone), and the float64 reference of output `k`.
 */
interface OpKind<Op extends MatrixOp, Case extends { name: string }> {
  cases(spec: MatrixSpec): Case[];
  run(op: Op, c: Case): Promise<OutputResult[]>;
  expectation(op: Op, c: Case, k: number): Expectation;
}

/**
 * Output `k` of a row's op alone, for tf.grad (which differentiates one tensor): tfjs gives the
 * other outputs a zero cotangent. The op call itself is core's runOp, as everywhere in the demo.
 */
export const outputOf =
  (
    spec: MaskedReduction,
    k: number,
    mask: tf.Tensor,
    axis?: number | number[],
    keepDims?: boolean,
  ) =>
  (x: tf.Tensor): tf.Tensor => {
    const outs = runOp(spec, x, mask, axis, keepDims);
    tf.dispose(outs.filter((_, i) => i !== k));
    return outs[k]!;
  };

function userCases(spec: MatrixSpec): ConformanceCase[] {
  const rand = seededRandom(spec.seed);
  const cases: ConformanceCase[] = [];
  for (const shape of spec.shapes) {
    const xShape = shape.x;
    const maskShape = maskShapeOf(shape);
    const size = xShape.reduce((p, d) => p * d, 1);
    const variants: [number | number[] | undefined, boolean][] =
      shape.form === 'all'
        ? [
            [undefined, false],
            [[...xShape.keys()], true],
          ]
        : [
            [1, false],
            [[0, 1], true],
          ];
    for (const [axis, keepDims] of variants) {
      cases.push({
        name: `${shapeLabel(shape)} density ${spec.density} axis ${axis === undefined ? 'default' : JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`,
        x: randomFloats(rand, size),
        xShape,
        xDtype: 'float32',
        mask: randomMask(
          rand,
          maskShape.reduce((p, d) => p * d, 1),
          spec.density,
        ),
        maskShape,
        maskDtype: 'bool',
        axis,
        keepDims,
        dy: randomFloats(rand, outputSize(xShape, maskShape.length, axis), -2, 2),
      });
    }
  }
  return cases;
}

/** The reductions: core's conformance cases, forward through runOp, each output's tf.grad. */
const reductionKind: OpKind<ReducerName, ConformanceCase> = {
  cases: (spec) => [...(spec.conformance ? conformanceCases() : []), ...userCases(spec)],
  async run(reducer, c) {
    const spec = specOf(reducer);
    const x = tf.tensor(c.xDtype === 'int32' ? Float32Array.from(c.x) : c.x, c.xShape, 'float32');
    const mask = tf.tensor(c.mask, c.maskShape, c.maskDtype);
    const ys = runOp(spec, x, mask, c.axis, c.keepDims);
    // Every output has the reduced shape: one cotangent serves each.
    const dy = tf.tensor(c.dy, ys[0]!.shape);
    const outputs: OutputResult[] = [];
    try {
      for (const [k, y] of ys.entries()) {
        const dx = tf.grad(outputOf(spec, k, mask, c.axis, c.keepDims))(x, dy);
        outputs.push({ y: Array.from(await y.data()), dx: Array.from(await dx.data()) });
        dx.dispose();
      }
    } finally {
      tf.dispose([x, mask, dy, ...ys]);
    }
    return outputs;
  },
  expectation(op, c, k) {
    return {
      forward: caseReference(op, c, k),
      // The kit's scales: a gradient that reads the op's own float32 output (logsumexp's y,
      // moments' mean) inherits that output's allowed error (docs/SPEC.md "Accuracy").
      gradient: { values: caseGradReference(op, c, k), scales: caseGradScales(op, c, k) },
      halfUnsafe: c.halfUnsafe === true,
    };
  },
};

/**
 * The user's shapes as softmax cases, with the reductions' masks: BxTxF is a softmax over time
 * (axis 1, attention pooling's weights per feature) with the mask [B,T,1] broadcast over the
 * features; `...:all` a softmax over the last axis with a mask of the logits' shape.
 */
function softmaxUserCases(spec: MatrixSpec): SoftmaxCase[] {
  const rand = seededRandom(spec.seed);
  return spec.shapes.map((shape) => {
    const size = shape.x.reduce((p, d) => p * d, 1);
    const maskShape = shape.form === 'all' ? shape.x : [...maskShapeOf(shape), 1];
    const mask = randomMask(
      rand,
      maskShape.reduce((p, d) => p * d, 1),
      spec.density,
    );
    const c: SoftmaxCase = {
      name: `${shapeLabel(shape)} density ${spec.density} mask [${maskShape}] axis ${shape.form === 'all' ? -1 : 1}`,
      logitsShape: shape.x,
      logits: randomFloats(rand, size),
      maskShape,
      mask: Array.from(mask),
      maskDtype: 'bool',
      dy: randomFloats(rand, size, -1, 1),
    };
    if (shape.form !== 'all') c.axis = 1;
    return c;
  });
}

/** The exported op of each softmax, as users call it. */
const SOFTMAX_FNS = { maskedSoftmax, maskedLogSoftmax } as const;

const softmaxFn = (op: SoftmaxName) => SOFTMAX_FNS[softmaxRowOf(op).op as keyof typeof SOFTMAX_FNS];

/** The reference's input for a softmax case (the axis normalised). */
const softmaxInput = (op: SoftmaxName, c: SoftmaxCase) => {
  const a = c.axis ?? -1;
  return {
    logits: c.logits,
    logitsShape: c.logitsShape,
    mask: c.mask,
    maskShape: c.maskShape,
    axis: a < 0 ? a + c.logitsShape.length : a,
    log: softmaxRowOf(op).log,
  };
};

/**
 * The softmaxes: core's softmax conformance cases (every broadcast pattern, rows of 1 and 4,096,
 * empty rows, huge logits, NaN/Inf) and the user's shapes; one output, of the logits' shape.
 */
const softmaxKind: OpKind<SoftmaxName, SoftmaxCase> = {
  cases: (spec) => [...(spec.conformance ? softmaxCases() : []), ...softmaxUserCases(spec)],
  async run(op, c) {
    const f = softmaxFn(op);
    const logits = tf.tensor(c.logits, c.logitsShape, 'float32');
    const mask = tf.tensor(c.mask, c.maskShape, c.maskDtype);
    const dy = tf.tensor(c.dy, c.logitsShape, 'float32');
    const y = f(logits, mask, c.axis);
    const dx = tf.grad((l: tf.Tensor) => f(l, mask, c.axis))(logits, dy);
    try {
      return [{ y: Array.from(await y.data()), dx: Array.from(await dx.data()) }];
    } finally {
      tf.dispose([logits, mask, dy, y, dx]);
    }
  },
  expectation(op, c) {
    const input = softmaxInput(op, c);
    // Both references say which values are exact (counts 0) and that their scales are relative.
    return {
      forward: referenceMaskedSoftmax(input),
      gradient: referenceMaskedSoftmaxGrad(input, c.dy),
      halfUnsafe: false,
    };
  },
};

/** The kind of an op (the runs carry their op, so every helper below dispatches through here). */
function kindOf(op: MatrixOp): OpKind<MatrixOp, { name: string }> {
  const kind = rowOf(op).kind === 'softmax' ? softmaxKind : reductionKind;
  return kind as unknown as OpKind<MatrixOp, { name: string }>;
}

/** Every (op, case) the matrix runs, op by op in report order; the same on every side. */
export function matrixRuns(spec: MatrixSpec): MatrixRun[] {
  // Each kind's cases once (the reductions' include T = 100,000), shared by its ops.
  const cases = new Map<unknown, { name: string }[]>();
  return spec.ops.flatMap((op) => {
    const kind = kindOf(op);
    if (!cases.has(kind)) cases.set(kind, kind.cases(spec));
    return cases.get(kind)!.map((c) => ({ op, case: c }) as MatrixRun);
  });
}

/**
 * Runs every (op, case) on the active backend: one forward call (every output), then per output
 * one tf.grad of that output alone with the case's dy.
 */
export async function runCases(
  runs: MatrixRun[],
  onProgress?: (done: number, total: number) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  let yielded = performance.now();
  for (const [i, { op, case: c }] of runs.entries()) {
    results.push({ op, name: c.name, outputs: await kindOf(op).run(op, c) });
    onProgress?.(i + 1, runs.length);
    // On cpu, data() resolves in a microtask: without a macrotask now and then a page would not
    // repaint (its progress bar would stand still) until every case is done.
    if (performance.now() - yielded > 50) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      yielded = performance.now();
    }
  }
  return results;
}

/**
 * Which code ran on the active backend: the plugin's kernels, or (a backend may lack some while
 * its package is being built) core's composite fallback for the missing ones.
 */
export type KernelPath =
  | 'fused'
  | 'composite'
  | 'fused forward, composite gradient'
  | 'composite forward, fused gradient';

/** What runs an op with this forward and this gradient kernel on the active backend. */
export function kernelPath(kernelName: string, gradKernelName: string): KernelPath {
  const backend = tf.getBackend();
  const forward = tf.getKernel(kernelName, backend) !== undefined;
  const gradient = tf.getKernel(gradKernelName, backend) !== undefined;
  return forward === gradient
    ? forward
      ? 'fused'
      : 'composite'
    : forward
      ? 'fused forward, composite gradient'
      : 'composite forward, fused gradient';
}

export function kernelPaths(ops: readonly MatrixOp[]): Record<string, KernelPath> {
  const paths: Record<string, KernelPath> = {};
  for (const op of ops) {
    const row = rowOf(op);
    paths[op] = kernelPath(row.kernelName, row.gradKernelName);
  }
  return paths;
}

/** One backend's share of the matrix: what ran, and every (op, case) result. */
export interface BackendRun {
  kernels: Record<string, KernelPath>;
  results: CaseResult[];
}

/** Runs the whole spec on the active backend (the CLI in Node and the page call this). */
export async function runMatrix(
  spec: MatrixSpec,
  onProgress?: (done: number, total: number) => void,
): Promise<BackendRun> {
  return { kernels: kernelPaths(spec.ops), results: await runCases(matrixRuns(spec), onProgress) };
}

export interface Cell {
  /** Values compared (forward and gradient together). */
  checked: number;
  /** Largest |a - b| over finite pairs: for the report only; pass/fail is compareValues'. */
  maxAbsDiff: number;
  /**
   * Largest |a - b| / (its element's allowed error, docs/SPEC.md "Accuracy"): how much of the
   * bound the worst element used (0.03 = 3%). For display only; elements that must match
   * exactly (max, min, empty slices) have no bound and pass only with a difference of 0.
   */
  worstOfBound: number;
  failures: number;
  pass: boolean;
  firstFailure?: string;
  /** The cases with a failure (forward or gradient), at most MAX_FAILING_CASES of them. */
  failingCases?: string[];
}

const MAX_FAILING_CASES = 10;

/** One output of one op: its matrix (an op with several outputs has one per output). */
export interface OpMatrix {
  /** The op's name (maskedSum, ..., maskedSoftmax) and its id in `--ops` (sum, ..., softmax). */
  op: string;
  reducer: MatrixOp;
  /** The output's name in the table row (`y` for a one-output op; `mean`, `variance`). */
  output: string;
  /** How reports title it: the op, plus the output's name when the op has several. */
  label: string;
  cases: number;
  /** backend -> its cell against the float64 reference. */
  reference: Record<string, Cell>;
  /** "a|b" -> b's results compared with a's (the reference's counts, scales and exactness). */
  pairs: Record<string, Cell>;
  /** backend -> which code ran (when known). */
  kernels: Record<string, KernelPath>;
}

export interface Matrix {
  backends: string[];
  ops: OpMatrix[];
}

/** The float64 reference of output `k` of a run, forward and (with the case's dy) gradient. */
const expectationOf = ({ op, case: c }: MatrixRun, k: number): Expectation =>
  kindOf(op).expectation(op, c, k);

const emptyCell = (): Cell => ({
  checked: 0,
  maxAbsDiff: 0,
  worstOfBound: 0,
  failures: 0,
  pass: true,
});

/**
 * The allowed error of element i as compareValues applies it (core's allowedError; 0 where an
 * exact match is required), so that a reader sees each difference next to its scale.
 */
function displayBound(expected: Expected, i: number, precision: Precision): number {
  const count = expected.counts?.[i] ?? 1;
  if (count === 0 || (expected.exact && precision === 'float32')) return 0;
  const scale = expected.scales?.[i] ?? Math.abs(expected.values[i]!);
  // Softmax probabilities: relative scales, c * scale * log factor plus float32's smallest normal.
  if (expected.relative) return allowedError(0, count, precision) * scale + 2 ** -126;
  return allowedError(scale, expected.exact ? 1 : count, precision);
}

/** Adds one comparison to a cell: the verdict is core's compareValues, the diff is for display. */
function record(
  cell: Cell,
  label: string,
  actual: ArrayLike<number>,
  expected: Expected,
  precision: Precision,
): void {
  const problems = compareValues(actual, expected, precision);
  cell.checked += actual.length;
  for (let i = 0; i < Math.min(actual.length, expected.values.length); i++) {
    const d = Math.abs(actual[i]! - expected.values[i]!);
    if (!Number.isFinite(d)) continue;
    if (d > cell.maxAbsDiff) cell.maxAbsDiff = d;
    const bound = displayBound(expected, i, precision);
    if (bound > 0 && d / bound > cell.worstOfBound) cell.worstOfBound = d / bound;
  }
  if (problems.length) {
    cell.failures += problems.length;
    cell.firstFailure ??= `${label} ${problems[0]}`;
    cell.failingCases ??= [];
    if (cell.failingCases.length < MAX_FAILING_CASES && !cell.failingCases.includes(label)) {
      cell.failingCases.push(label);
    }
  }
}

/**
 * Builds each output's matrix from each backend's results (same runs, same order): one per op,
 * one per output of an op with several (maskedMoments: mean, variance), so a verdict always names
 * the output it is about. Against the reference, each backend is held to core's bound at its
 * precision. Between two backends a and b, b's values are compared with a's as if a's were the
 * reference (same counts, scales and exactness; the looser precision of the two): backends that
 * each pass against the reference agree far inside that bound, and a pair cell that fails shows
 * where two backends disagree.
 */
export function buildMatrix(
  runs: MatrixRun[],
  results: Record<string, CaseResult[]>,
  precisionOf: (backend: string) => Precision = () => 'float32',
  kernels: Record<string, Record<string, KernelPath>> = {},
): Matrix {
  const backends = Object.keys(results);
  for (const b of backends) {
    if (results[b]!.length !== runs.length) {
      throw new Error(`${b}: ${results[b]!.length} results for ${runs.length} runs`);
    }
    runs.forEach((r, i) => {
      const got = results[b]![i]!;
      if (got.op !== r.op || got.name !== r.case.name) {
        throw new Error(
          `${b}: result ${i} is ${got.op} ${got.name}, expected ${r.op} ${r.case.name}`,
        );
      }
      const outputs = rowOf(r.op).outputs.length;
      if (got.outputs.length !== outputs) {
        throw new Error(
          `${b}: result ${i} has ${got.outputs.length} outputs, ${r.op} has ${outputs}`,
        );
      }
    });
  }
  const ops: OpMatrix[] = [];
  for (const reducer of [...new Set(runs.map((r) => r.op))]) {
    const spec = rowOf(reducer);
    const indices = runs.flatMap((r, i) => (r.op === reducer ? [i] : []));
    for (const [k, output] of spec.outputs.entries()) {
      ops.push(
        outputMatrix(runs, results, indices, k, precisionOf, {
          op: spec.op,
          reducer,
          output,
          label: spec.outputs.length === 1 ? spec.op : `${spec.op}.${output}`,
          cases: indices.length,
          reference: {},
          pairs: {},
          kernels: Object.fromEntries(
            backends.flatMap((b) => (kernels[b]?.[reducer] ? [[b, kernels[b]![reducer]!]] : [])),
          ),
        }),
      );
    }
  }
  return { backends, ops };
}

/** Fills `om`'s cells: output `k` of the runs at `indices`, on every backend and every pair. */
function outputMatrix(
  runs: MatrixRun[],
  results: Record<string, CaseResult[]>,
  indices: number[],
  k: number,
  precisionOf: (backend: string) => Precision,
  om: OpMatrix,
): OpMatrix {
  const backends = Object.keys(results);
  const expected = new Map(indices.map((i) => [i, expectationOf(runs[i]!, k)]));
  const skip = (e: Expectation, p: Precision) => e.halfUnsafe && p === 'float16';
  for (const b of backends) {
    const cell = emptyCell();
    const precision = precisionOf(b);
    for (const i of indices) {
      const e = expected.get(i)!;
      if (skip(e, precision)) continue;
      const r = results[b]![i]!;
      record(cell, `${r.name} forward`, r.outputs[k]!.y, e.forward, precision);
      record(cell, `${r.name} gradient`, r.outputs[k]!.dx, e.gradient, precision);
    }
    cell.pass = cell.failures === 0;
    om.reference[b] = cell;
  }
  for (const [ai, a] of backends.entries()) {
    for (const b of backends.slice(ai + 1)) {
      const cell = emptyCell();
      const precision =
        precisionOf(a) === 'float16' || precisionOf(b) === 'float16' ? 'float16' : 'float32';
      for (const i of indices) {
        const e = expected.get(i)!;
        if (skip(e, precision)) continue;
        const ra = results[a]![i]!.outputs[k]!;
        const rb = results[b]![i]!.outputs[k]!;
        const name = results[a]![i]!.name;
        record(cell, `${name} forward`, rb.y, { ...e.forward, values: ra.y }, precision);
        record(cell, `${name} gradient`, rb.dx, { ...e.gradient, values: ra.dx }, precision);
      }
      cell.pass = cell.failures === 0;
      om.pairs[`${a}|${b}`] = cell;
    }
  }
  return om;
}
