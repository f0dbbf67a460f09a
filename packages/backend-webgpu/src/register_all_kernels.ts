import { MASKED_REDUCTIONS, MASKED_SOFTMAXES } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { embeddingBagConfigs } from './kernels/embedding_bag.js';
import { maskedReduceConfig } from './kernels/masked_reduce.js';
import { maskedReduceGradConfig } from './kernels/masked_reduce_grad.js';
import { maskedSoftmaxConfigs } from './kernels/masked_softmax.js';
import { GRADIENTS, REDUCERS } from './wgsl/reducers.js';

/**
 * One forward and one gradient config per row of core's op table that this package has a
 * reducer and a gradient for (wgsl/reducers.ts), in the table's order. A row without them keeps
 * core's composite fallback on webgpu. Then a forward and a gradient config per row of core's
 * MASKED_SOFTMAXES (one driver, parameterised by the row's `log`), and the embedding bag's three
 * kernels (core's EMBEDDING_BAG).
 */
export const webgpuKernelConfigs: KernelConfig[] = [
  ...MASKED_REDUCTIONS.filter(
    (spec) => REDUCERS[spec.reducer] !== undefined && GRADIENTS[spec.reducer] !== undefined,
  ).flatMap((spec) => [maskedReduceConfig(spec), maskedReduceGradConfig(spec)]),
  ...MASKED_SOFTMAXES.flatMap(maskedSoftmaxConfigs),
  ...embeddingBagConfigs,
];
