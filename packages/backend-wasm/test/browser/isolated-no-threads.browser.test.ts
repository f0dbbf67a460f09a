// The README's workaround for the reported threaded-build hang: on a cross-origin-isolated page,
// WASM_HAS_MULTITHREAD_SUPPORT set to false before setBackend makes tfjs load its SIMD binary
// (unshared heap), and our simd modules serve it. This checks which binary it picks, not the
// hang itself (not reproduced here).
import '../../src/index.js';
import { maskedMean } from '@masked-ops/core';
import { env, setBackend, tensor2d, tensor3d } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../../src/index.js';
import { useBundledWasmBinaries } from './wasm_paths.js';

it('threads off on an isolated page: tfjs SIMD without threads, served by the simd modules', async () => {
  expect(globalThis.crossOriginIsolated).toBe(true);
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  useBundledWasmBinaries();
  expect(await setBackend('wasm')).toBe(true);
  const info = wasmKernelModuleInfo();
  expect(info.variant).toBe('simd');
  expect(info.memory.buffer).toBeInstanceOf(ArrayBuffer);
  const y = maskedMean(
    tensor3d([
      [
        [10, 10],
        [20, 20],
        [0, 0],
      ],
    ]),
    tensor2d([[1, 1, 0]]),
    1,
  );
  expect(Array.from(await y.data())).toEqual([15, 15]); // worked by hand
});
