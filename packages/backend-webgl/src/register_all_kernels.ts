import { MASKED_REDUCTIONS } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { GRADIENTS, hasForward } from './glsl/reducers.js';
import { webglBagKernelConfigs } from './kernels/embedding_bag.js';
import { maskedReduceConfig } from './kernels/masked_reduce.js';
import { maskedReduceGradConfig } from './kernels/masked_reduce_grad.js';
import { webglSoftmaxKernelConfigs } from './kernels/softmax.js';

/**
 * One forward and one gradient config per row of core's op table that this package has a reducer
 * (or a composition of stages) and a gradient for (glsl/reducers.ts), in the table's order, then
 * the embedding bag's three kernels and the masked softmaxes' four.
 */
export const webglKernelConfigs: KernelConfig[] = [
  ...MASKED_REDUCTIONS.filter(
    (spec) => hasForward(spec.reducer) && GRADIENTS[spec.reducer] !== undefined,
  ).flatMap((spec) => [maskedReduceConfig(spec), maskedReduceGradConfig(spec)]),
  ...webglBagKernelConfigs,
  ...webglSoftmaxKernelConfigs,
];
