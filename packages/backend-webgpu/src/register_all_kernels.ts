import { MASKED_REDUCTIONS } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { maskedReduceConfig } from './kernels/masked_reduce.js';
import { maskedReduceGradConfig } from './kernels/masked_reduce_grad.js';
import { GRADIENTS, REDUCERS } from './wgsl/reducers.js';

/**
 * One forward and one gradient config per row of core's op table that this package has a
 * reducer and a gradient for (wgsl/reducers.ts), in the table's order. A row without them keeps
 * core's composite fallback on webgpu.
 */
export const webgpuKernelConfigs: KernelConfig[] = MASKED_REDUCTIONS.filter(
  (spec) => REDUCERS[spec.reducer] !== undefined && GRADIENTS[spec.reducer] !== undefined,
).flatMap((spec) => [maskedReduceConfig(spec), maskedReduceGradConfig(spec)]);
