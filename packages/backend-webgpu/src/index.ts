import '@masked-ops/core'; // registers the gradients that call the gradient kernels
import { registerKernel } from '@tensorflow/tfjs-core';
import { webgpuKernelConfigs } from './register_all_kernels.js';

// Importing the package registers the kernels for 'webgpu'. Kernels are looked up per call, so
// this works whether or not the webgpu backend is already initialised; nothing runs at setup.
for (const config of webgpuKernelConfigs) registerKernel(config);

export { embeddingBagConfigs } from './kernels/embedding_bag.js';
export { maskedReduceConfig, maskedReduceKernel } from './kernels/masked_reduce.js';
export { maskedReduceGradConfig, maskedReduceGradKernel } from './kernels/masked_reduce_grad.js';
export {
  maskedSoftmaxConfigs,
  maskedSoftmaxGradKernel,
  maskedSoftmaxKernel,
} from './kernels/masked_softmax.js';
/** Every kernel config, for manual registration (e.g. after `unregisterKernel`). */
export { webgpuKernelConfigs } from './register_all_kernels.js';
