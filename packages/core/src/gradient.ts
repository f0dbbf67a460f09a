import { type GradConfig, type Tensor, zeros } from '@tensorflow/tfjs-core';
import { asMaskedMeanAttrs, MaskedMean } from './kernel_names.js';
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
