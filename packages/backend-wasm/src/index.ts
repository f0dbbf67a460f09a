import '@masked-ops/core'; // registers the gradient that calls MaskedMeanGrad
import { engine, registerKernel } from '@tensorflow/tfjs-core';
import {
  heapMemory,
  type KernelModuleInfo,
  kernelModuleInfo,
  type WasmBackendLike,
} from './heap.js';
import { maskedMeanWasmConfig } from './masked_mean.js';
import { maskedMeanGradWasmConfig } from './masked_mean_grad.js';

/** Both kernel configs, for manual registration (e.g. after `unregisterKernel`). */
export const wasmKernelConfigs = [maskedMeanWasmConfig, maskedMeanGradWasmConfig];

// Importing the package registers the kernels for 'wasm'. The kernel module is instantiated on the
// first call, so this works whether or not the wasm backend is already active.
for (const config of wasmKernelConfigs) registerKernel(config);

/**
 * Which embedded kernel module serves the wasm backend ('simd', 'simd-shared' for tfjs's threaded
 * build, or 'scalar'), and the heap it works on. Instantiates the module if needed. The wasm
 * backend must be initialised (e.g. `await tf.setBackend('wasm')`).
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

export type { KernelModuleInfo, KernelModuleVariant } from './heap.js';
export { maskedMeanWasm, maskedMeanWasmConfig } from './masked_mean.js';
export { maskedMeanGradWasm, maskedMeanGradWasmConfig } from './masked_mean_grad.js';
