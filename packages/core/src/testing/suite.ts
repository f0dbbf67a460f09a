import {
  complex,
  type DataType,
  dispose,
  engine,
  getBackend,
  getKernel,
  grad,
  memory,
  profile,
  type Tensor,
  tensor,
  zeros,
} from '@tensorflow/tfjs-core';
import { MaskedMean, MaskedMeanGrad } from '../kernel_names.js';
import { maskedMean } from '../masked_mean.js';
import { referenceMaskedMean, referenceMaskedMeanGrad } from '../reference.js';
import { type ConformanceCase, conformanceCases } from './cases.js';
import { errorCases } from './errors.js';
import { allowedError, mismatch, type Precision } from './tolerance.js';

/** The subset of a test framework the suite needs (vitest, jest, mocha and node:test all fit). */
export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void> | void, timeout?: number) => void;
}

export interface ConformanceOptions {
  /**
   * 'fused': the active backend must have the plugin's MaskedMean and MaskedMeanGrad kernels, and
   * the suite checks that they are what runs. 'fallback': it must have neither (composite path).
   */
  path: 'fused' | 'fallback';
  /** 'float16' for webgl with half-float textures: the looser bound, and halfUnsafe cases skip. */
  precision?: Precision;
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

const normaliseAxis = (c: ConformanceCase): number[] => {
  const rank = c.xShape.length;
  const raw =
    c.axis === undefined ? [...Array(c.maskShape.length).keys()] : ([] as number[]).concat(c.axis);
  return raw.map((a) => (a < 0 ? a + rank : a));
};

function fail(label: string, problems: string[], total: number): never {
  throw new Error(
    `${label}: ${problems.length} of ${total} elements out of bounds; first: ${problems.slice(0, 5).join('; ')}`,
  );
}

function assertShape(label: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${label}: shape [${actual}] != expected [${expected}]`);
  }
}

/** Runs one case on the active backend: forward and gradient against the float64 reference. */
export async function checkCase(
  c: ConformanceCase,
  precision: Precision = 'float32',
): Promise<void> {
  const axis = normaliseAxis(c);
  const ref = referenceMaskedMean(c.x, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
  const before = memory().numTensors;

  const x = tensor(c.x, c.xShape, c.xDtype);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const y = maskedMean(x, mask, c.axis, c.keepDims);
  assertShape('forward', y.shape, ref.shape);
  if (y.dtype !== 'float32') throw new Error(`forward: dtype ${y.dtype}, expected float32`);
  const got = await y.data();
  const problems: string[] = [];
  for (let i = 0; i < ref.values.length; i++) {
    const count = ref.counts[i]!;
    const p =
      count === 0
        ? got[i] === 0
          ? null
          : `expected exactly 0 (no valid element), got ${got[i]}`
        : mismatch(got[i]!, ref.values[i]!, allowedError(ref.maxAbs[i]!, count, precision));
    if (p) problems.push(`[${i}] ${p}`);
  }
  if (problems.length) fail('forward', problems, ref.values.length);

  // Gradient with respect to a float32 x (an int32 input has no gradient of its own).
  const xf = c.xDtype === 'float32' ? x : tensor(Float32Array.from(c.x), c.xShape);
  const dy = tensor(c.dy, ref.shape);
  const dx = grad((v: Tensor) => maskedMean(v, mask, c.axis, c.keepDims))(xf, dy);
  assertShape('gradient', dx.shape, c.xShape);
  const gotDx = await dx.data();
  const refDx = referenceMaskedMeanGrad(c.dy, c.xShape, c.mask, c.maskShape, axis);
  const gradProblems: string[] = [];
  for (let i = 0; i < refDx.length; i++) {
    const p = mismatch(gotDx[i]!, refDx[i]!, allowedError(Math.abs(refDx[i]!), 1, precision));
    if (p) gradProblems.push(`[${i}] ${p}`);
  }
  if (gradProblems.length) fail('gradient', gradProblems, refDx.length);

  if (c.numericGradient && precision === 'float32') {
    await checkNumericGradient(c, gotDx);
  }
  dispose([x, xf, mask, y, dy, dx]);
  const after = memory().numTensors;
  if (after !== before) throw new Error(`leak: numTensors ${before} -> ${after}`);
}

/**
 * dx(dy) = mask * dy / count is linear in dy, so the gradient of dx with respect to dy, applied to
 * a cotangent w of x's shape, is the masked mean of w (keepDims layout, reshaped to dy's shape).
 */
export async function checkSecondOrder(c: ConformanceCase, precision: Precision = 'float32') {
  const axis = normaliseAxis(c);
  const w = Float32Array.from(c.x, (_, i) => ((i * 7) % 11) - 5);
  const ref = referenceMaskedMean(w, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
  const before = memory().numTensors;
  const x = tensor(Float32Array.from(c.x), c.xShape);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const dy = tensor(c.dy, ref.shape);
  const wt = tensor(w, c.xShape);
  const dxOf = (d: Tensor) => grad((v: Tensor) => maskedMean(v, mask, c.axis, c.keepDims))(x, d);
  const ddy = grad(dxOf)(dy, wt);
  assertShape('second order', ddy.shape, ref.shape);
  const got = await ddy.data();
  const problems: string[] = [];
  for (let i = 0; i < ref.values.length; i++) {
    const p = mismatch(
      got[i]!,
      ref.values[i]!,
      allowedError(ref.maxAbs[i]!, ref.counts[i]!, precision),
    );
    if (p) problems.push(`[${i}] ${p}`);
  }
  dispose([x, mask, dy, wt, ddy]);
  if (problems.length) fail('second order', problems, ref.values.length);
  const after = memory().numTensors;
  if (after !== before) throw new Error(`leak: numTensors ${before} -> ${after}`);
}

/**
 * Central differences of L(x) = sum(dy * maskedMean(x)) on the active backend. L is linear in x,
 * so the only error is float32 rounding of L, divided by 2h.
 */
async function checkNumericGradient(
  c: ConformanceCase,
  analytic: ArrayLike<number>,
): Promise<void> {
  const h = 0.25;
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const loss = async (values: Float32Array): Promise<number> => {
    const x = tensor(values, c.xShape);
    const y = maskedMean(x, mask, c.axis, c.keepDims);
    const v = await y.data();
    dispose([x, y]);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += c.dy[i]! * v[i]!;
    return s;
  };
  const base = Float32Array.from(c.x);
  const problems: string[] = [];
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i]! += h;
    minus[i]! -= h;
    const numeric = ((await loss(plus)) - (await loss(minus))) / (plus[i]! - minus[i]!);
    const p = mismatch(analytic[i]!, numeric, 1e-3 * (1 + Math.abs(numeric)));
    if (p) problems.push(`[${i}] ${p}`);
  }
  mask.dispose();
  if (problems.length) fail('numeric gradient', problems, base.length);
}

function makeTensor(shape: number[], dtype: DataType): Tensor {
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

/**
 * Registers the whole conformance suite with the given test framework, for the active backend.
 * Every backend package calls this with the same cases; nothing in it may be skipped silently.
 */
export function defineConformanceSuite(t: TestApi, options: ConformanceOptions): void {
  const precision = options.precision ?? 'float32';
  const cases = options.cases ?? conformanceCases();
  const timeout = options.timeout;

  t.describe(`maskedMean conformance (${options.path}, ${precision})`, () => {
    t.it('runs the expected kernels', async () => {
      const backend = getBackend();
      const registered = [MaskedMean, MaskedMeanGrad].filter((k) => getKernel(k, backend));
      if (options.path === 'fused' && registered.length !== 2) {
        throw new Error(
          `backend '${backend}' has only [${registered}] of MaskedMean/MaskedMeanGrad`,
        );
      }
      if (options.path === 'fallback' && registered.length !== 0) {
        throw new Error(
          `backend '${backend}' has plugin kernels [${registered}]: not a fallback run`,
        );
      }
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const mask = tensor([1, 1, 0, 1, 0, 0], [2, 3], 'bool');
      const dy = tensor([1, 1]);
      const names = async (f: () => Tensor): Promise<string[]> => {
        const info = await profile(f);
        dispose(info.result as Tensor);
        return info.kernels.map((k) => k.name);
      };
      const forward = await names(() => maskedMean(x, mask, 1));
      const backward = await names(() => grad((v: Tensor) => maskedMean(v, mask, 1))(x, dy));
      dispose([x, mask, dy]);
      const fused = forward.includes(MaskedMean) && backward.includes(MaskedMeanGrad);
      if ((options.path === 'fused') !== fused) {
        throw new Error(
          `ran forward [${forward}], backward [${backward}] on the ${options.path} path`,
        );
      }
    });

    for (const c of cases) {
      if (precision === 'float16' && c.halfUnsafe) continue; // documented: beyond float16 range
      t.it(c.name, () => checkCase(c, precision), timeout);
    }

    if (options.secondOrder) {
      t.describe('double backprop: d(dx)/d(dy) applied to w is the masked mean of w', () => {
        for (const c of cases.filter((k) => k.numericGradient || /all-masked|seed/.test(k.name))) {
          t.it(c.name, () => checkSecondOrder(c, precision), timeout);
        }
      });
    }

    t.describe('bad input throws before any kernel runs and leaks nothing', () => {
      for (const e of errorCases) {
        t.it(e.name, () => {
          const x = makeTensor(e.xShape, e.xDtype);
          const mask = makeTensor(e.maskShape, e.maskDtype);
          const before = memory().numTensors;
          let message = '';
          try {
            maskedMean(x, mask, e.axis as number[], e.keepDims as boolean);
          } catch (err) {
            message = (err as Error).message;
          }
          const after = memory().numTensors;
          dispose([x, mask]);
          if (!e.message.test(message)) {
            throw new Error(
              `expected an error matching ${e.message}, got ${JSON.stringify(message)}`,
            );
          }
          if (after !== before) throw new Error(`leak: numTensors ${before} -> ${after}`);
        });
      }
      t.it('array inputs that fail validation leave no tensor behind', () => {
        const before = memory().numTensors;
        let message = '';
        try {
          maskedMean([[1, 2, 3]], [[1, 0]]);
        } catch (err) {
          message = (err as Error).message;
        }
        if (!/mask\.shape must equal the leading dimensions of x/.test(message)) {
          throw new Error(`unexpected message ${JSON.stringify(message)}`);
        }
        if (memory().numTensors !== before) throw new Error('leak after a failed call');
      });
    });
  });
}
