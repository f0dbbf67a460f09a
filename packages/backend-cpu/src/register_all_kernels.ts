import { MASKED_REDUCTIONS } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { maskedReduceCpu } from './masked_reduce.js';
import { maskedReduceGradCpu } from './masked_reduce_grad.js';

/** A forward and a gradient config for every row of core's op table, for 'cpu'. */
export const cpuKernelConfigs: KernelConfig[] = MASKED_REDUCTIONS.flatMap((spec) => [
  { kernelName: spec.kernelName, backendName: 'cpu', kernelFunc: maskedReduceCpu(spec.reducer) },
  {
    kernelName: spec.gradKernelName,
    backendName: 'cpu',
    kernelFunc: maskedReduceGradCpu(spec.reducer),
  },
]);
