import '@tensorflow/tfjs-backend-cpu';
import { MaskedMean, MaskedMeanGrad, maskedMean } from '@masked-ops/core';
import {
  getKernel,
  registerKernel,
  setBackend,
  tensor,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('cpu kernel registration', () => {
  it('registers both kernels for cpu on import', () => {
    expect(getKernel(MaskedMean, 'cpu')?.kernelFunc).toBe(cpuKernelConfigs[0]!.kernelFunc);
    expect(getKernel(MaskedMeanGrad, 'cpu')?.kernelFunc).toBe(cpuKernelConfigs[1]!.kernelFunc);
  });

  it('falls back to the composite path when unregistered, and works again when re-registered', async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
      [100, 100],
    ]);
    const mask = tensor([1, 1, 0], [3], 'bool');
    for (const c of cpuKernelConfigs) unregisterKernel(c.kernelName, 'cpu');
    expect(getKernel(MaskedMean, 'cpu')).toBeUndefined();
    const composite = await maskedMean(x, mask, 0).array();
    for (const c of cpuKernelConfigs) registerKernel(c);
    const fused = await maskedMean(x, mask, 0).array();
    expect(composite).toEqual([2, 3]);
    expect(fused).toEqual([2, 3]);
  });
});
