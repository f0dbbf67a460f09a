import { MASKED_REDUCTIONS } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { GRADIENTS, REDUCERS } from './glsl/reducers.js';
import { maskedReduceConfig } from './kernels/masked_reduce.js';
import { maskedReduceGradConfig } from './kernels/masked_reduce_grad.js';

/**
 * One forward and one gradient config per row of core's op table that this package has a reducer
 * for (glsl/reducers.ts), in the table's order.
 */
export const webglKernelConfigs: KernelConfig[] = MASKED_REDUCTIONS.filter(
  (spec) => REDUCERS[spec.reducer] !== undefined && GRADIENTS[spec.reducer] !== undefined,
).flatMap((spec) => [maskedReduceConfig(spec), maskedReduceGradConfig(spec)]);
