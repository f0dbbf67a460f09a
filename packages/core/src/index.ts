import { registerGradient } from '@tensorflow/tfjs-core';
import { maskedMeanGradConfig, maskedMeanGradGradConfig } from './gradient.js';

// Importing the package registers the gradient, so tf.grad / optimizers / model.fit work on every
// backend, with or without a plugin kernel.
registerGradient(maskedMeanGradConfig);
registerGradient(maskedMeanGradGradConfig);

export { compositeMaskedMean, compositeMaskedMeanGrad } from './composite.js';
export { type MaskedMeanGeometry, maskedMeanGeometry } from './geometry.js';
export { maskedMeanGradConfig, maskedMeanGradGradConfig } from './gradient.js';
export {
  asMaskedMeanAttrs,
  asMaskedMeanGradAttrs,
  MaskedMean,
  type MaskedMeanAttrs,
  MaskedMeanGrad,
  type MaskedMeanGradAttrs,
  type MaskedMeanGradInputs,
  type MaskedMeanInputs,
} from './kernel_names.js';
export { maskedMean } from './masked_mean.js';
export { maskedMeanGradient } from './masked_mean_grad.js';
export { referenceMaskedMean, referenceMaskedMeanGrad } from './reference.js';
export { type MaskedMeanArgInfo, validateMaskedMeanArgs } from './validate.js';
