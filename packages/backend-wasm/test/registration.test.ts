import '@tensorflow/tfjs-backend-wasm';
import { MaskedMean, MaskedMeanGrad, maskedMean } from '@masked-ops/core';
import {
  getKernel,
  registerKernel,
  setBackend,
  tensor,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

describe('wasm kernel registration', () => {
  it('registers both kernels for wasm on import', () => {
    expect(getKernel(MaskedMean, 'wasm')?.kernelFunc).toBe(wasmKernelConfigs[0]!.kernelFunc);
    expect(getKernel(MaskedMeanGrad, 'wasm')?.kernelFunc).toBe(wasmKernelConfigs[1]!.kernelFunc);
  });

  it('falls back to the composite path when unregistered, and works again when re-registered', async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
      [100, 100],
    ]);
    const mask = tensor([1, 1, 0], [3], 'bool');
    for (const c of wasmKernelConfigs) unregisterKernel(c.kernelName, 'wasm');
    expect(getKernel(MaskedMean, 'wasm')).toBeUndefined();
    const composite = await maskedMean(x, mask, 0).array();
    for (const c of wasmKernelConfigs) registerKernel(c);
    const fused = await maskedMean(x, mask, 0).array();
    expect(composite).toEqual([2, 3]);
    expect(fused).toEqual([2, 3]);
  });
});
