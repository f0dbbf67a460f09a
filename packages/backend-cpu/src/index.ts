import '@masked-ops/core'; // registers the gradient that calls MaskedMeanGrad
import { registerKernel } from '@tensorflow/tfjs-core';
import { maskedMeanCpuConfig } from './masked_mean.js';
import { maskedMeanGradCpuConfig } from './masked_mean_grad.js';

/** Both kernel configs, for manual registration (e.g. after `unregisterKernel`). */
export const cpuKernelConfigs = [maskedMeanCpuConfig, maskedMeanGradCpuConfig];

// Importing the package registers the kernels for 'cpu'. Kernels are looked up per call, so this
// works whether or not the cpu backend is already active.
for (const config of cpuKernelConfigs) registerKernel(config);

export { maskedMeanCpu, maskedMeanCpuConfig } from './masked_mean.js';
export { maskedMeanGradCpu, maskedMeanGradCpuConfig } from './masked_mean_grad.js';
