import '@masked-ops/core'; // registers the gradients that call the gradient kernels
import { registerKernel } from '@tensorflow/tfjs-core';
import { webglKernelConfigs } from './register_all_kernels.js';

// Importing the package registers the kernels for 'webgl'. Kernels are looked up per call, so this
// works whether or not the webgl backend is already initialised; nothing runs at setup time.
for (const config of webglKernelConfigs) registerKernel(config);

export { maskedReduceConfig, maskedReduceKernel } from './kernels/masked_reduce.js';
export { maskedReduceGradConfig, maskedReduceGradKernel } from './kernels/masked_reduce_grad.js';
export { MAX_WINDOW } from './programs/base.js';
/** Every kernel config, for manual registration (e.g. after `unregisterKernel`). */
export { webglKernelConfigs } from './register_all_kernels.js';
