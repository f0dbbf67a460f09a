import { type GradConfig, type Tensor, zeros } from '@tensorflow/tfjs-core';
import {
  asMaskedMeanAttrs,
  asMaskedMeanGradAttrs,
  MaskedMean,
  MaskedMeanGrad,
} from './kernel_names.js';
import { maskedMean } from './masked_mean.js';
import { maskedMeanGradient } from './masked_mean_grad.js';

/**
 * SPEC.md "Gradient": dx = valid ? dy / count : 0; the mask gets a float32 zero gradient of its own
 * shape (like tf.where's condition), so tapes that reach the mask still complete.
 */
export const maskedMeanGradConfig: GradConfig = {
  kernelName: MaskedMean,
  inputsToSave: ['mask'],
  gradFunc: (dy, saved, attrs) => {
    const [mask] = saved as [Tensor];
    const { axis, keepDims } = asMaskedMeanAttrs(attrs);
    return {
      x: () => maskedMeanGradient(dy as Tensor, mask, axis, keepDims),
      mask: () => zeros(mask.shape, 'float32'),
    };
  },
};

/**
 * The gradient of the gradient kernel, so double backprop (e.g. gradient penalties) works on the
 * fused path. dx = mask * dy / count is linear in dy; its adjoint sums `ddx` over the valid
 * elements and divides by the same count: exactly the masked mean of ddx, in dy's keepDims layout.
 */
export const maskedMeanGradGradConfig: GradConfig = {
  kernelName: MaskedMeanGrad,
  inputsToSave: ['mask'],
  gradFunc: (ddx, saved, attrs) => {
    const [mask] = saved as [Tensor];
    const { axis } = asMaskedMeanGradAttrs(attrs);
    return {
      dy: () => maskedMean(ddx as Tensor, mask, axis, true),
      mask: () => zeros(mask.shape, 'float32'),
    };
  },
};
