import { MASKED_REDUCTIONS, MASKED_SOFTMAXES } from '@masked-ops/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { wasmBagKernelConfigs } from './embedding_bag.js';
import { maskedBroadcastKernel } from './masked_broadcast.js';
import { maskedReduceKernel } from './masked_reduce.js';
import { maskedSoftmaxGradKernel, maskedSoftmaxKernel } from './masked_softmax.js';
import { WASM_REDUCERS } from './reducers.js';

/**
 * Every kernel of the package for 'wasm': a forward and a gradient config for every row of core's
 * op table that has a wasm reducer (the two drivers, parameterised by the row and its reducer),
 * the masked softmaxes' two (one row driver and one gradient driver, parameterised by `log`),
 * then the embedding bag's three. (tfjs's UnsortedSegmentSum is registered apart, and only where
 * tfjs has none: segment_sum.ts.)
 */
export const wasmKernelConfigs: KernelConfig[] = [
  ...MASKED_REDUCTIONS.flatMap((spec) => {
    const reducer = WASM_REDUCERS[spec.reducer];
    if (reducer === undefined) return [];
    return [
      {
        kernelName: spec.kernelName,
        backendName: 'wasm',
        kernelFunc: maskedReduceKernel(spec, reducer),
      },
      {
        kernelName: spec.gradKernelName,
        backendName: 'wasm',
        kernelFunc: maskedBroadcastKernel(spec, reducer),
      },
    ];
  }),
  ...MASKED_SOFTMAXES.flatMap((row) => [
    { kernelName: row.kernelName, backendName: 'wasm', kernelFunc: maskedSoftmaxKernel(row) },
    {
      kernelName: row.gradKernelName,
      backendName: 'wasm',
      kernelFunc: maskedSoftmaxGradKernel(row),
    },
  ]),
  ...wasmBagKernelConfigs,
];
