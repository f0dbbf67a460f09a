import {
  cast,
  customGrad,
  engine,
  type GradSaveFunc,
  getBackend,
  getKernel,
  notEqual,
  op,
  scalar,
  Tensor,
  type TensorLike,
  tensor,
  zeros,
} from '@tensorflow/tfjs-core';
import { compositeMaskedMean } from './composite.js';
import { MaskedMean, type MaskedMeanAttrs } from './kernel_names.js';
import { maskedMeanGradient } from './masked_mean_grad.js';
import { validateMaskedMeanArgs } from './validate.js';

const asTensor = (value: Tensor | TensorLike): Tensor =>
  value instanceof Tensor ? value : tensor(value);

/**
 * The fallback path: built-in ops forward, and the spec's gradient formula through customGrad, so
 * training works even where no built-in gradient is registered (tfjs-core alone registers none).
 */
function fallbackMaskedMean(x: Tensor, mask: Tensor, axis: number[], keepDims: boolean): Tensor {
  const withGrad = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xIn, maskIn, save] = args as [Tensor, Tensor, GradSaveFunc];
    save([maskIn]);
    return {
      value: compositeMaskedMean(xIn, maskIn, axis, keepDims),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [
        maskedMeanGradient(dy, saved[0]!, axis, keepDims),
        zeros(saved[0]!.shape, 'float32'),
      ],
    };
  });
  return withGrad(x, mask);
}

/**
 * Mean of `x` over `axis`, counting only the elements where `mask` is non-zero.
 *
 * `mask.shape` must equal the leading dims of `x.shape` (Keras: x `[batch, time, features]`, mask
 * `[batch, time]`); `axis` (default: every mask axis) must be mask axes. Masked elements are
 * ignored even when they hold NaN or Inf; a row with no valid element gives exactly 0. The result
 * is float32. Differentiable with respect to x.
 *
 * @param x float32 or int32 tensor, rank >= 1.
 * @param mask bool, int32 or float32 tensor; an element is valid where it is non-zero.
 * @param axis axis or axes to reduce, counted on x's rank (negative from the end).
 * @param keepDims keep the reduced axes as size 1.
 */
function maskedMean_(
  x: Tensor | TensorLike,
  mask: Tensor | TensorLike,
  axis?: number | number[],
  keepDims = false,
): Tensor {
  // Tensors made here from TensorLikes belong to the op's scope, which disposes them on a throw.
  const $x = asTensor(x);
  const $mask = asTensor(mask);
  const axes = validateMaskedMeanArgs({
    xShape: $x.shape,
    xDtype: $x.dtype,
    maskShape: $mask.shape,
    maskDtype: $mask.dtype,
    axis,
    keepDims,
  });
  const xf = $x.dtype === 'float32' ? $x : cast($x, 'float32');
  // `!= 0` keeps NaN valid, as SPEC.md says.
  const mb = $mask.dtype === 'bool' ? $mask : notEqual($mask, scalar(0, $mask.dtype));
  if (getKernel(MaskedMean, getBackend()) === undefined) {
    return fallbackMaskedMean(xf, mb, axes, keepDims);
  }
  const attrs: MaskedMeanAttrs = { axis: axes, keepDims };
  return engine().runKernel(MaskedMean, { x: xf, mask: mb }, { ...attrs }) as Tensor;
}

export const maskedMean = op({ maskedMean_ });
