import { EMBEDDING_BAG, MASKED_REDUCTIONS, MASKED_SOFTMAXES } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import {
  embeddingBagCpu,
  embeddingBagGradCpu,
  embeddingBagSampleWeightsGradCpu,
} from './embedding_bag.js';
import { maskedReduceCpu } from './masked_reduce.js';
import { maskedReduceGradCpu } from './masked_reduce_grad.js';
import { maskedSoftmaxCpu, maskedSoftmaxGradCpu } from './softmax.js';

/** The embedding bag's three kernels for 'cpu' (its gradient is attached by the op itself). */
export const cpuBagKernelConfigs: KernelConfig[] = [
  { kernelName: EMBEDDING_BAG.kernelName, backendName: 'cpu', kernelFunc: embeddingBagCpu },
  { kernelName: EMBEDDING_BAG.gradKernelName, backendName: 'cpu', kernelFunc: embeddingBagGradCpu },
  {
    kernelName: EMBEDDING_BAG.sampleWeightsGradKernelName,
    backendName: 'cpu',
    kernelFunc: embeddingBagSampleWeightsGradCpu,
  },
];

/** The masked softmaxes' kernels for 'cpu': a forward and a gradient config per row. */
export const cpuSoftmaxKernelConfigs: KernelConfig[] = MASKED_SOFTMAXES.flatMap((row) => [
  { kernelName: row.kernelName, backendName: 'cpu', kernelFunc: maskedSoftmaxCpu(row.log) },
  { kernelName: row.gradKernelName, backendName: 'cpu', kernelFunc: maskedSoftmaxGradCpu(row.log) },
]);

/**
 * Every kernel of the package for 'cpu': a forward and a gradient config for every row of core's
 * op table, then the embedding bag's and the masked softmaxes'.
 */
export const cpuKernelConfigs: KernelConfig[] = [
  ...MASKED_REDUCTIONS.flatMap((spec) => [
    { kernelName: spec.kernelName, backendName: 'cpu', kernelFunc: maskedReduceCpu(spec.reducer) },
    {
      kernelName: spec.gradKernelName,
      backendName: 'cpu',
      kernelFunc: maskedReduceGradCpu(spec.reducer),
    },
  ]),
  ...cpuBagKernelConfigs,
  ...cpuSoftmaxKernelConfigs,
];
