import {
  dispose,
  grad,
  memory,
  profile,
  type Tensor,
  tensor,
  tensor1d,
} from '@tensorflow/tfjs-core';
import { referenceMaskedSoftmax, referenceMaskedSoftmaxGrad } from '../reference/softmax.js';
import { MASKED_SOFTMAXES, type MaskedSoftmaxRow } from '../softmax/contract.js';
import { maskedLogSoftmax, maskedSoftmax } from '../softmax/masked_softmax.js';
import { type SoftmaxCase, softmaxCases } from './softmax_cases.js';
import { type SoftmaxErrorCase, softmaxErrorCases } from './softmax_errors.js';
import { assertNoLeak, type TestApi } from './suite.js';
import { compareWithReference, type Precision } from './tolerance.js';

/** The exported op of each row, as users call it. */
export const SOFTMAX_OPS = { maskedSoftmax, maskedLogSoftmax } as const;

const opOf = (row: MaskedSoftmaxRow) => SOFTMAX_OPS[row.op as keyof typeof SOFTMAX_OPS];

export interface SoftmaxSuiteOptions {
  /** 'fused': the plugin's kernels must run; 'fallback': none may be registered. */
  path: 'fused' | 'fallback';
  precision?: Precision;
  /** Run only the cases marked structural (secondary configurations of a backend). */
  structuralOnly?: boolean;
  timeout?: number;
}

const normalised = (c: SoftmaxCase): number => {
  const a = c.axis ?? -1;
  return a < 0 ? a + c.logitsShape.length : a;
};

/** One case of one op, forward and gradient, against the float64 reference; nothing leaks. */
export async function checkSoftmaxCase(
  row: MaskedSoftmaxRow,
  c: SoftmaxCase,
  precision: Precision = 'float32',
): Promise<void> {
  const input = {
    logits: c.logits,
    logitsShape: c.logitsShape,
    mask: c.mask,
    maskShape: c.maskShape,
    axis: normalised(c),
    log: row.log,
  };
  const ref = referenceMaskedSoftmax(input);
  const refGrad = referenceMaskedSoftmaxGrad(input, c.dy);
  const before = memory().numTensors;
  const logits = tensor(c.logits, c.logitsShape);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const dy = tensor(c.dy, c.logitsShape);
  const f = opOf(row);
  const y = f(logits, mask, c.axis);
  const dx = grad((l: Tensor) => f(l, mask, c.axis))(logits, dy);
  try {
    const label = `${row.op} ${c.name}`;
    for (const [what, t] of [
      ['forward', y],
      ['gradient', dx],
    ] as const) {
      if (t.shape.join(',') !== c.logitsShape.join(',') || t.dtype !== 'float32') {
        throw new Error(
          `${label} ${what}: ${t.dtype} [${t.shape}], expected float32 [${c.logitsShape}]`,
        );
      }
    }
    compareWithReference(`${label} forward`, await y.data(), ref, precision);
    compareWithReference(`${label} gradient`, await dx.data(), refGrad, precision);
  } finally {
    dispose([logits, mask, dy, y, dx]);
  }
  assertNoLeak(before, `${row.op} ${c.name}`);
}

/** The row's kernels run forward and backward (fused), or neither (fallback). */
async function checkSoftmaxPath(row: MaskedSoftmaxRow, path: 'fused' | 'fallback'): Promise<void> {
  const logits = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const mask = tensor1d([true, false, true], 'bool');
  const dy = tensor([1, 0, -1, 0.5, 2, 0], [2, 3]);
  const f = opOf(row);
  const info = await profile(() => {
    const y = f(logits, mask);
    const dx = grad((l: Tensor) => f(l, mask))(logits, dy);
    return [y, dx];
  });
  dispose(info.result as Tensor[]);
  dispose([logits, mask, dy]);
  const names = info.kernels.map((k) => k.name);
  const ours = [row.kernelName, row.gradKernelName];
  const ran = ours.filter((k) => names.includes(k));
  if (path === 'fused' ? ran.length !== 2 : ran.length !== 0) {
    throw new Error(`${path} path ran [${ran}] of [${ours}]; kernels [${names}]`);
  }
}

/** The message of a bad call's error ('' when it does not throw), checking nothing leaked. */
function messageOf(row: MaskedSoftmaxRow, e: SoftmaxErrorCase): string {
  const { args, owned } = e.make();
  const before = memory().numTensors;
  let message = '';
  try {
    dispose((opOf(row) as (...a: unknown[]) => Tensor)(...args));
  } catch (err) {
    message = (err as Error).message;
  }
  assertNoLeak(before, `${row.op} ${e.name}`);
  dispose(owned.filter((t) => !t.isDisposed));
  return message;
}

/**
 * Registers the masked softmaxes' conformance suite for the active backend: both ops, every case
 * forward and gradient against the float64 reference, the kernel path, and every error.
 */
export function defineSoftmaxSuite(t: TestApi, options: SoftmaxSuiteOptions): void {
  const precision = options.precision ?? 'float32';
  const { timeout } = options;
  const cases = softmaxCases().filter((c) => !options.structuralOnly || c.structural);
  for (const row of MASKED_SOFTMAXES) {
    t.describe(`${row.op} conformance (${options.path}, ${precision})`, () => {
      t.it('runs the expected kernels', () => checkSoftmaxPath(row, options.path));
      for (const c of cases) t.it(c.name, () => checkSoftmaxCase(row, c, precision), timeout);
      t.describe('bad input throws before any kernel runs and leaks nothing', () => {
        for (const e of softmaxErrorCases) {
          t.it(e.name, () => {
            const message = messageOf(row, e);
            if (!message.startsWith(`${row.op}: `) || !e.message.test(message)) {
              throw new Error(`expected ${row.op}: ${e.message}, got ${JSON.stringify(message)}`);
            }
          });
        }
      });
    });
  }
}
