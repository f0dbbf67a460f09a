import '@masked-ops/core'; // registers the gradients that call the gradient kernels
// The peer backend itself, so it is registered before its factory is wrapped below.
import '@tensorflow/tfjs-backend-wasm';
import { engine, registerKernel } from '@tensorflow/tfjs-core';
import { heapMemory, type WasmBackendLike } from './heap.js';
import { explainWasmInitFailures } from './init_failure.js';
import { type KernelModuleInfo, kernelModuleInfo } from './modules.js';
import { wasmKernelConfigs } from './register_all_kernels.js';
import { registerUnsortedSegmentSum } from './segment_sum.js';

// Importing the package registers the kernels for 'wasm'. The kernel modules are instantiated on
// the first call, so this works whether or not the wasm backend is already active.
for (const config of wasmKernelConfigs) registerKernel(config);
// tf.gather's gradient needs UnsortedSegmentSum, which tfjs-backend-wasm 4.x lacks (imported
// above, so its own kernels are registered by now and one it ships would win).
registerUnsortedSegmentSum();
// A backend that cannot load its binaries would otherwise leave the ops on a slow path silently.
explainWasmInitFailures();

/**
 * Which build of the embedded kernel modules serves the wasm backend ('simd', 'simd-shared' for
 * tfjs's threaded build, or 'scalar'), the heap they work on and their sizes. The wasm backend
 * must be initialised (e.g. `await tf.setBackend('wasm')`).
 */
export function wasmKernelModuleInfo(): KernelModuleInfo {
  return kernelModuleInfo(wasmBackend());
}

/** The WebAssembly.Memory of the initialised wasm backend (tfjs's heap). */
export function wasmHeapMemory(): WebAssembly.Memory {
  return heapMemory(wasmBackend());
}

function wasmBackend(): WasmBackendLike {
  const backend = engine().findBackend('wasm');
  if (backend == null) {
    throw new Error('@masked-ops/backend-wasm: the wasm backend is not initialised');
  }
  return backend as unknown as WasmBackendLike;
}

export {
  embeddingBagGradWasm,
  embeddingBagSampleWeightsGradWasm,
  embeddingBagWasm,
  wasmBagKernelConfigs,
} from './embedding_bag.js';
export { TFJS_WASM_FILES, wasmInitFailureMessage } from './init_failure.js';
export { maskedBroadcastKernel } from './masked_broadcast.js';
export { maskedReduceKernel } from './masked_reduce.js';
export { maskedSoftmaxGradKernel, maskedSoftmaxKernel } from './masked_softmax.js';
export type { KernelModuleInfo, KernelModuleVariant } from './modules.js';
export { wasmKernelConfigs } from './register_all_kernels.js';
export { unsortedSegmentSumConfig, unsortedSegmentSumWasm } from './segment_sum.js';
