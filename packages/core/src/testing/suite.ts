import {
  complex,
  concat,
  type DataType,
  dispose,
  engine,
  getBackend,
  getKernel,
  grad,
  grads,
  memory,
  profile,
  reshape,
  Tensor,
  tensor,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import {
  maskedLogSumExp,
  maskedMax,
  maskedMean,
  maskedMin,
  maskedMoments,
  maskedSum,
} from '../ops/index.js';
import type { MaskedReduceOp } from '../ops/masked_reduce.js';
import { MASKED_REDUCTIONS, type MaskedReduction, type ReducerName } from '../ops/table.js';
import { referenceMaskedReduceGradAdjoint } from '../reference/masked_reduce.js';
import { REFERENCE_REDUCERS } from '../reference/reducers.js';
import {
  caseGradReference,
  caseGradScales,
  caseReference,
  normaliseAxis,
} from './case_reference.js';
import { type ConformanceCase, conformanceCases } from './cases.js';
import { errorCases, rawErrorCases } from './errors.js';
import { compareWithReference, mismatch, type Precision } from './tolerance.js';

/** The subset of a test framework the suite needs (vitest, jest, mocha and node:test all fit). */
export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void> | void, timeout?: number) => void;
}

/** The exported op of each reducer, as users call it. */
export const OPS = {
  sum: maskedSum,
  mean: maskedMean,
  max: maskedMax,
  min: maskedMin,
  logsumexp: maskedLogSumExp,
  moments: maskedMoments,
} satisfies Record<ReducerName, unknown>;

/**
 * Calls a table row's op as users do and returns its outputs in the row's order: `[y]`, or
 * `[mean, variance]` for moments. Tests, the demo and the benchmarks run every op through this.
 */
export function runOp(
  spec: MaskedReduction,
  x: Tensor,
  mask: Tensor,
  axis?: number | number[],
  keepDims?: boolean,
): Tensor[] {
  const out = (OPS[spec.reducer] as (...a: unknown[]) => Tensor | Record<string, Tensor>)(
    x,
    mask,
    axis,
    keepDims,
  );
  return out instanceof Tensor ? [out] : spec.outputs.map((name) => out[name]!);
}

/** A one-output view of output `k` of a row's op (for tf.grad, which takes one output). */
const outputOf = (spec: MaskedReduction, k: number): MaskedReduceOp =>
  ((x: Tensor, mask: Tensor, axis?: number | number[], keepDims?: boolean) => {
    const outs = runOp(spec, x, mask, axis, keepDims);
    dispose(outs.filter((_, i) => i !== k));
    return outs[k]!;
  }) as MaskedReduceOp;

/** The name of output `k` in messages: the op, plus the output's name when it has several. */
const labelOf = (spec: MaskedReduction, k: number): string =>
  spec.outputs.length === 1 ? spec.op : `${spec.op}.${spec.outputs[k]}`;

export interface ConformanceOptions {
  /**
   * 'fused': the active backend must have the plugin's forward and gradient kernels of every op
   * checked, and the suite checks that they are what runs. 'fallback': it must have neither.
   */
  path: 'fused' | 'fallback';
  /** 'float16' for webgl with half-float textures: the looser bound, and halfUnsafe cases skip. */
  precision?: Precision;
  /** The reducers to check; default every row of the op table. */
  ops?: readonly ReducerName[];
  /** Defaults to {@link conformanceCases}(). */
  cases?: ConformanceCase[];
  /** Per-test timeout in ms (browsers with software GL are slow on the long cases). */
  timeout?: number;
  /**
   * Also check double backprop (the gradient of the gradient with respect to dy). Its tape runs
   * through tfjs's Reshape (and, on the fallback path, built-in ops), so it needs tfjs's built-in
   * gradients registered: enable it where @tensorflow/tfjs-layers (or @tensorflow/tfjs) is loaded.
   */
  secondOrder?: boolean;
}

function assertShape(label: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${label}: shape [${actual}] != expected [${expected}]`);
  }
}

/** Throws unless `tf.memory().numTensors` is back to `before`; `what` names the call. */
export function assertNoLeak(before: number, what?: string): void {
  const after = memory().numTensors;
  if (after !== before) {
    throw new Error(`${what ? `${what}: ` : ''}leak: numTensors ${before} -> ${after}`);
  }
}

/** x as the op sees it (int32 is cast to float32): the values the reference must reduce. */
const xValues = (c: ConformanceCase): Float32Array => Float32Array.from(c.x);

/**
 * Runs one case of one op on the active backend: every output, forward and gradient, against the
 * float64 reference, and no tensor left behind.
 */
export async function checkCase(
  spec: MaskedReduction,
  c: ConformanceCase,
  precision: Precision = 'float32',
): Promise<void> {
  for (let k = 0; k < spec.outputs.length; k++) await checkOutput(spec, k, c, precision);
}

async function checkOutput(
  spec: MaskedReduction,
  k: number,
  c: ConformanceCase,
  precision: Precision,
): Promise<void> {
  const op = outputOf(spec, k);
  const label = labelOf(spec, k);
  const xs = xValues(c);
  const ref = caseReference(spec.reducer, c, k);
  const before = memory().numTensors;

  const x = tensor(c.x, c.xShape, c.xDtype);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const y = op(x, mask, c.axis, c.keepDims);
  assertShape(`${label} forward`, y.shape, ref.shape);
  if (y.dtype !== 'float32') throw new Error(`${label} forward: dtype ${y.dtype}, not float32`);
  compareWithReference(`${label} forward`, await y.data(), ref, precision);

  // Gradient with respect to a float32 x (an int32 input has no gradient of its own); for a
  // several-output op, of this output alone (tfjs gives the others a zero cotangent).
  const xf = c.xDtype === 'float32' ? x : tensor(xs, c.xShape);
  const dy = tensor(c.dy, ref.shape);
  const dx = grad((v: Tensor) => op(v, mask, c.axis, c.keepDims))(xf, dy);
  assertShape(`${label} gradient`, dx.shape, c.xShape);
  const gotDx = await dx.data();
  const refDx = caseGradReference(spec.reducer, c, k);
  const scales = caseGradScales(spec.reducer, c, k);
  compareWithReference(`${label} gradient`, gotDx, { values: refDx, scales }, precision);

  if (c.numericGradient && precision === 'float32' && REFERENCE_REDUCERS[spec.reducer].linear[k]) {
    await checkNumericGradient(op, c, gotDx);
  }
  dispose([x, xf, mask, y, dy, dx]);
  assertNoLeak(before);
}

/**
 * Double backprop: the gradient of dx with respect to dy, applied to a cotangent w of x's shape,
 * against the float64 adjoint (every dx is linear in dy).
 */
export async function checkSecondOrder(
  spec: MaskedReduction,
  c: ConformanceCase,
  precision: Precision = 'float32',
): Promise<void> {
  for (let k = 0; k < spec.outputs.length; k++) await checkSecondOrderOf(spec, k, c, precision);
}

async function checkSecondOrderOf(
  spec: MaskedReduction,
  k: number,
  c: ConformanceCase,
  precision: Precision,
): Promise<void> {
  const op = outputOf(spec, k);
  const label = labelOf(spec, k);
  const axis = normaliseAxis(c);
  const xs = xValues(c);
  const w = Float32Array.from(c.x, (_, i) => ((i * 7) % 11) - 5);
  const shape = caseReference(spec.reducer, c, k).shape;
  const refDdy = referenceMaskedReduceGradAdjoint(
    spec.reducer,
    xs,
    w,
    c.xShape,
    c.mask,
    c.maskShape,
    axis,
    k,
  );
  const before = memory().numTensors;
  const x = tensor(xs, c.xShape);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const dy = tensor(c.dy, shape);
  const wt = tensor(w, c.xShape);
  const dxOf = (d: Tensor) => grad((v: Tensor) => op(v, mask, c.axis, c.keepDims))(x, d);
  const ddy = grad(dxOf)(dy, wt);
  assertShape(`${label} second order`, ddy.shape, shape);
  const got = await ddy.data();
  dispose([x, mask, dy, wt, ddy]);
  // Each ddy sums at most |w| <= 5 per valid element with weights summing to at most 1 (mean,
  // max, min, logsumexp) or count (sum): scale by the reference's magnitude plus the weights'
  // bound. (The variance's weights 2 (x - mean) / count sum in magnitude to at most 2 max|x - mean|.)
  compareWithReference(
    `${label} second order`,
    got,
    { values: refDdy, scales: Array.from(refDdy, (v) => Math.abs(v) + 5) },
    precision,
  );
  assertNoLeak(before);
}

/**
 * Central differences of L(x) = sum(dy * op(x)) on the active backend, for outputs linear in x
 * (sum, mean, the mean of moments): the only error is float32 rounding of L, divided by 2h.
 */
async function checkNumericGradient(
  op: MaskedReduceOp,
  c: ConformanceCase,
  analytic: ArrayLike<number>,
): Promise<void> {
  const h = 0.25;
  const base = Float32Array.from(c.x);
  // x with element i moved by +h (row 2i) and by -h (row 2i + 1); every call's output is read
  // back in one transfer (a readback per call costs more than the op on a GPU backend).
  const moved = Array.from({ length: 2 * base.length }, (_, j) => {
    const values = Float32Array.from(base);
    values[j >> 1]! += j % 2 === 0 ? h : -h;
    return values;
  });
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const ys = moved.map((values) => {
    const x = tensor(values, c.xShape);
    const y = op(x, mask, c.axis, c.keepDims);
    x.dispose();
    return y;
  });
  const all = tidy(() => concat(ys.map((y) => reshape(y, [-1]))));
  const flat = await all.data();
  dispose([all, ...ys]);
  const m = c.dy.length;
  if (flat.length !== moved.length * m) {
    throw new Error(`numeric gradient: ${flat.length} output values, not ${moved.length} x ${m}`);
  }
  const loss = (j: number): number => {
    let s = 0;
    for (let i = 0; i < m; i++) s += c.dy[i]! * flat[j * m + i]!;
    return s;
  };
  const problems: string[] = [];
  for (let i = 0; i < base.length; i++) {
    const step = moved[2 * i]![i]! - moved[2 * i + 1]![i]!;
    const numeric = (loss(2 * i) - loss(2 * i + 1)) / step;
    const p = mismatch(analytic[i]!, numeric, 1e-3 * (1 + Math.abs(numeric)));
    if (p) problems.push(`[${i}] ${p}`);
  }
  mask.dispose();
  if (problems.length) {
    throw new Error(
      `numeric gradient: ${problems.length} mismatches; first: ${problems.slice(0, 5).join('; ')}`,
    );
  }
}

export function makeTensor(shape: number[], dtype: DataType): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  if (dtype === 'string') return tensor(new Array<string>(size).fill('a'), shape, 'string');
  if (dtype === 'complex64') {
    // Backends without a Complex kernel (wasm) still store complex64 data written directly;
    // validation only reads dtype and shape, so either tensor serves.
    if (getKernel('Complex', getBackend()) === undefined) {
      return engine().makeTensor(new Float32Array(2 * size), shape, 'complex64');
    }
    const part = zeros(shape);
    const out = complex(part, part);
    part.dispose();
    return out;
  }
  return zeros(shape, dtype);
}

/** Kernel names that ran inside `f` (its result is disposed). */
async function kernelsRun(f: () => Tensor): Promise<string[]> {
  const info = await profile(f);
  dispose(info.result as Tensor);
  return info.kernels.map((k) => k.name);
}

/** Checks that the fused kernels (or none of them, on the fallback path) run for `spec`. */
async function checkPath(spec: MaskedReduction, path: 'fused' | 'fallback'): Promise<void> {
  const backend = getBackend();
  const names = [spec.kernelName, spec.gradKernelName];
  const registered = names.filter((k) => getKernel(k, backend));
  if (path === 'fused' && registered.length !== 2) {
    throw new Error(`backend '${backend}' has only [${registered}] of [${names}]`);
  }
  if (path === 'fallback' && registered.length !== 0) {
    throw new Error(`backend '${backend}' has plugin kernels [${registered}]: not a fallback run`);
  }
  const op = outputOf(spec, 0);
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const mask = tensor([1, 1, 0, 1, 0, 0], [2, 3], 'bool');
  const dy = tensor([1, 1]);
  const forward = await kernelsRun(() => op(x, mask, 1));
  const backward = await kernelsRun(() => grad((v: Tensor) => op(v, mask, 1))(x, dy));
  dispose([x, mask, dy]);
  const fused = forward.includes(spec.kernelName) && backward.includes(spec.gradKernelName);
  if ((path === 'fused') !== fused) {
    throw new Error(`ran forward [${forward}], backward [${backward}] on the ${path} path`);
  }
}

/** tf.grads with respect to a float or int mask gives the zero gradient docs/SPEC.md promises. */
async function checkMaskGradient(spec: MaskedReduction): Promise<void> {
  const op = outputOf(spec, spec.outputs.length - 1);
  const before = memory().numTensors;
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  for (const dtype of ['float32', 'int32'] as const) {
    const mask = tensor([1, 0, 2, 0, 0, 1], [2, 3], dtype);
    const [dx, dmask] = grads((v: Tensor, m: Tensor) => op(v, m, 1))([x, mask]);
    assertShape(`${spec.op} mask gradient`, dmask!.shape, [2, 3]);
    const values = Array.from(await dmask!.data());
    if (dmask!.dtype !== 'float32' || values.some((v) => v !== 0)) {
      throw new Error(
        `${spec.op}: gradient of a ${dtype} mask is ${dmask!.dtype} [${values}], expected float32 zeros`,
      );
    }
    dispose([mask, dx!, dmask!]);
  }
  x.dispose();
  assertNoLeak(before);
}

/** Every error case for one op: the message (starting with the op's name), and no leak. */
function defineErrorTests(t: TestApi, spec: MaskedReduction): void {
  const op = OPS[spec.reducer] as MaskedReduceOp;
  t.describe('bad input throws before any kernel runs and leaks nothing', () => {
    for (const e of errorCases) {
      t.it(e.name, () => {
        const x = makeTensor(e.xShape, e.xDtype);
        const mask = makeTensor(e.maskShape, e.maskDtype);
        if (e.disposed === 'x') x.dispose();
        if (e.disposed === 'mask') mask.dispose();
        const before = memory().numTensors;
        let message = '';
        try {
          op(x, mask, e.axis as number[], e.keepDims as boolean);
        } catch (err) {
          message = (err as Error).message;
        }
        const after = memory().numTensors;
        dispose([x, mask]);
        if (!e.message.test(message) || !message.startsWith(`${spec.op}: `)) {
          throw new Error(
            `expected an error starting '${spec.op}: ' and matching ${e.message}, got ${JSON.stringify(message)}`,
          );
        }
        if (after !== before) throw new Error(`leak: numTensors ${before} -> ${after}`);
      });
    }
    for (const e of rawErrorCases) {
      t.it(e.name, () => {
        const before = memory().numTensors;
        let message = '';
        try {
          (op as (...args: unknown[]) => Tensor)(e.x, e.mask, e.axis);
        } catch (err) {
          message = (err as Error).message;
        }
        if (!e.message.test(message) || !message.startsWith(`${spec.op}: `)) {
          throw new Error(
            `expected an error starting '${spec.op}: ' and matching ${e.message}, got ${JSON.stringify(message)}`,
          );
        }
        assertNoLeak(before);
      });
    }
    t.it('array inputs that fail validation leave no tensor behind', () => {
      const before = memory().numTensors;
      let message = '';
      try {
        op([[1, 2, 3]], [[1, 0]]);
      } catch (err) {
        message = (err as Error).message;
      }
      if (!/mask\.shape must equal the leading dimensions of x/.test(message)) {
        throw new Error(`unexpected message ${JSON.stringify(message)}`);
      }
      if (memory().numTensors !== before) throw new Error('leak after a failed call');
    });
  });
}

/**
 * Registers the whole conformance suite with the given test framework, for the active backend:
 * every op of the table (or `options.ops`), the same cases, forward and gradient against the
 * float64 references. Nothing in it may be skipped silently.
 */
export function defineConformanceSuite(t: TestApi, options: ConformanceOptions): void {
  const precision = options.precision ?? 'float32';
  const cases = options.cases ?? conformanceCases();
  const { timeout } = options;
  const specs = MASKED_REDUCTIONS.filter((s) => !options.ops || options.ops.includes(s.reducer));
  if (specs.length === 0) throw new Error('defineConformanceSuite: no op selected');

  for (const spec of specs) {
    t.describe(`${spec.op} conformance (${options.path}, ${precision})`, () => {
      t.it('runs the expected kernels', () => checkPath(spec, options.path));
      t.it('gives a float or int mask a zero gradient', () => checkMaskGradient(spec));
      for (const c of cases) {
        if (precision === 'float16' && c.halfUnsafe) continue; // documented: beyond float16 range
        t.it(c.name, () => checkCase(spec, c, precision), timeout);
      }
      if (options.secondOrder) {
        t.describe('double backprop: d(dx)/d(dy) against the float64 adjoint', () => {
          for (const c of cases.filter(
            (k) => k.numericGradient || /all-masked|seed|ties/.test(k.name),
          )) {
            t.it(c.name, () => checkSecondOrder(spec, c, precision), timeout);
          }
        });
      }
      defineErrorTests(t, spec);
    });
  }
}
