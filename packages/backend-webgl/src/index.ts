import '@masked-ops/core'; // registers the gradient that calls MaskedMeanGrad
import { registerKernel } from '@tensorflow/tfjs-core';
import { maskedMeanWebGLConfig } from './masked_mean.js';
import { maskedMeanGradWebGLConfig } from './masked_mean_grad.js';

/** Both kernel configs, for manual registration (e.g. after `unregisterKernel`). */
export const webglKernelConfigs = [maskedMeanWebGLConfig, maskedMeanGradWebGLConfig];

// Importing the package registers the kernels for 'webgl'. Kernels are looked up per call, so this
// works whether or not the webgl backend is already initialised; nothing runs at setup time.
for (const config of webglKernelConfigs) registerKernel(config);

export { maskedMeanWebGL, maskedMeanWebGLConfig } from './masked_mean.js';
export { maskedMeanGradWebGL, maskedMeanGradWebGLConfig } from './masked_mean_grad.js';
export { MAX_WINDOW } from './programs.js';
