import {
  cast,
  customGrad,
  engine,
  type GradConfig,
  type GradSaveFunc,
  getBackend,
  getKernel,
  op,
  reshape,
  type Tensor,
  type TensorLike,
  zeros,
} from '@tensorflow/tfjs-core';
import { nonZero } from '../fallback/non_zero.js';
import { asTensor } from '../ops/masked_reduce.js';
import { compositeMaskedSoftmax, compositeMaskedSoftmaxGrad } from './composite.js';
import {
  asSoftmaxAttrs,
  MASKED_LOG_SOFTMAX,
  MASKED_SOFTMAX,
  type MaskedSoftmaxAttrs,
  type MaskedSoftmaxRow,
} from './contract.js';
import { validateSoftmaxArgs } from './validate.js';

/** A masked softmax as users call it: `op(logits, mask, axis = -1)`. */
export type MaskedSoftmaxOp = <T extends Tensor = Tensor>(
  logits: Tensor | TensorLike,
  mask: Tensor | TensorLike,
  axis?: number,
) => T;

/**
 * dx of a masked softmax from its output `y`: the backend's gradient kernel when one is
 * registered, else the composite. `mask`: bool, the logits' rank.
 */
export function maskedSoftmaxGradient(
  row: MaskedSoftmaxRow,
  dy: Tensor,
  mask: Tensor,
  y: Tensor,
  axis: number,
): Tensor {
  if (getKernel(row.gradKernelName, getBackend()) === undefined) {
    return compositeMaskedSoftmaxGrad(dy, mask, y, axis, row.log);
  }
  const attrs: MaskedSoftmaxAttrs = { axis };
  return engine().runKernel(row.gradKernelName, { dy, mask, y }, { ...attrs }) as Tensor;
}

/** The forward kernel's gradient: dx from the saved mask and output; the mask gets zeros. */
export function softmaxGradConfig(row: MaskedSoftmaxRow): GradConfig {
  return {
    kernelName: row.kernelName,
    inputsToSave: ['mask'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [mask, y] = saved as [Tensor, Tensor];
      const { axis } = asSoftmaxAttrs(attrs);
      return {
        logits: () => maskedSoftmaxGradient(row, dy as Tensor, mask, y, axis),
        mask: () => zeros(mask.shape, 'float32'),
      };
    },
  };
}

function run(row: MaskedSoftmaxRow, logits: unknown, mask: unknown, axis: unknown): Tensor {
  const $logits = asTensor(row.op, 'logits', logits);
  const $mask = asTensor(row.op, 'mask', mask);
  const a = validateSoftmaxArgs(row.op, {
    logitsShape: $logits.shape,
    logitsDtype: $logits.dtype,
    maskShape: $mask.shape,
    maskDtype: $mask.dtype,
    axis,
  });
  const x = $logits.dtype === 'float32' ? $logits : cast($logits, 'float32');
  const bool = $mask.dtype === 'bool' ? $mask : nonZero($mask);
  // The kernels get the mask at the logits' rank (a reshape, no copy) and broadcast it by
  // strides; never a logits-sized copy of it.
  const lead = new Array<number>(x.rank - bool.rank).fill(1);
  const m = lead.length ? reshape(bool, [...lead, ...bool.shape]) : bool;
  if (getKernel(row.kernelName, getBackend()) !== undefined) {
    const attrs: MaskedSoftmaxAttrs = { axis: a };
    return engine().runKernel(row.kernelName, { logits: x, mask: m }, { ...attrs }) as Tensor;
  }
  // The fallback: built-in ops forward, the spec's gradient through customGrad (tfjs-core alone
  // registers no built-in gradients).
  const withGrad = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
    const [lx, lm, save] = inputs as [Tensor, Tensor, GradSaveFunc];
    const value = compositeMaskedSoftmax(lx, lm, a, row.log);
    save([lm, value]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sm, sy] = saved as [Tensor, Tensor];
        return [maskedSoftmaxGradient(row, dy, sm, sy, a), zeros(sm.shape, 'float32')];
      },
    };
  });
  return withGrad(x, m);
}

function softmaxOp(row: MaskedSoftmaxRow): MaskedSoftmaxOp {
  const impl = (logits: Tensor | TensorLike, mask: Tensor | TensorLike, axis: number = -1) =>
    run(row, logits, mask, axis);
  return op({ [`${row.op}_`]: impl }) as MaskedSoftmaxOp;
}

/**
 * Softmax of `logits` along `axis` (default -1) over the positions where `mask` is non-zero. The
 * mask (bool, int32 or float32) broadcasts to the logits by NumPy rules: a key-padding mask
 * `[B, 1, 1, Lk]` for logits `[B, H, Lq, Lk]`, a causal `[Lq, Lk]`, a `[Lk]`, or the full shape.
 * Masked positions are exactly 0 and their values never leak; a row with no valid position (or
 * only valid -Infinity) is all zeros; a valid NaN or +Infinity makes the row's valid positions
 * NaN. The gradient is `y * (dy - sum(y * dy))` at valid positions, 0 elsewhere.
 */
export const maskedSoftmax = softmaxOp(MASKED_SOFTMAX);

/**
 * Log of {@link maskedSoftmax}, computed stably (`x - logsumexp` over the valid positions):
 * -Infinity at masked positions, 0 across a row with no valid position. The gradient is
 * `dy - exp(y) * sum(dy)` over valid positions, 0 elsewhere. For losses over padded classes.
 */
export const maskedLogSoftmax = softmaxOp(MASKED_LOG_SOFTMAX);
