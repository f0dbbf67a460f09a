import '@masked-ops/core'; // registers the gradients that call the gradient kernels
import { registerKernel } from '@tensorflow/tfjs-core';
import { cpuKernelConfigs } from './register_all_kernels.js';

// Importing the package registers every kernel of core's op table, the embedding bag's and the
// masked softmaxes', for 'cpu'. Kernels are looked up per call, so this works whether or not the
// cpu backend is already active.
for (const config of cpuKernelConfigs) registerKernel(config);

export {
  embeddingBagCpu,
  embeddingBagGradCpu,
  embeddingBagSampleWeightsGradCpu,
} from './embedding_bag.js';
export { maskedReduceCpu } from './masked_reduce.js';
export { maskedReduceGradCpu } from './masked_reduce_grad.js';
export {
  type BagGradData,
  CPU_BAG_FOLDS,
  CPU_BAG_GRADS,
  CPU_GRAD_REDUCERS,
  CPU_REDUCERS,
  type CpuBagFold,
  type CpuBagGrad,
  type CpuGradReducer,
  type CpuReducer,
} from './reducers.js';
export {
  cpuBagKernelConfigs,
  cpuKernelConfigs,
  cpuSoftmaxKernelConfigs,
} from './register_all_kernels.js';
export { maskedSoftmaxCpu, maskedSoftmaxGradCpu } from './softmax.js';
