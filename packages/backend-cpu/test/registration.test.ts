import '@tensorflow/tfjs-backend-cpu';
import { EMBEDDING_BAG, embeddingBag } from '@masked-ops/core';
import { defineRegistrationSuite } from '@masked-ops/core/testing';
import {
  dispose,
  getKernel,
  profile,
  registerKernel,
  setBackend,
  type Tensor,
  tensor,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuBagKernelConfigs, cpuKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineRegistrationSuite({ describe, it }, 'cpu', cpuKernelConfigs);

// defineRegistrationSuite covers the op table's rows; the embedding bag's kernels are checked here.
describe('cpu embedding bag kernel registration', () => {
  const names: string[] = Object.values(EMBEDDING_BAG);

  it('importing the plugin registers its three exported bag configs', () => {
    expect(cpuBagKernelConfigs.map((c) => c.kernelName).sort()).toEqual([...names].sort());
    for (const config of cpuBagKernelConfigs) {
      expect(config.backendName).toBe('cpu');
      expect(cpuKernelConfigs).toContain(config);
      expect(getKernel(config.kernelName, 'cpu')?.kernelFunc).toBe(config.kernelFunc);
    }
  });

  it('unregistered: the fallback, same result; re-registered: the fused kernels', async () => {
    const weight = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const ids = tensor([0, 2, 1, 1], [2, 2], 'int32');
    const run = async () => {
      const info = await profile(() => embeddingBag(weight, ids, { mode: 'mean', paddingId: 1 }));
      const y = info.result as Tensor;
      const values = Array.from(await y.data());
      dispose(y);
      return { values, ran: info.kernels.map((k) => k.name).filter((n) => names.includes(n)) };
    };
    for (const c of cpuBagKernelConfigs) unregisterKernel(c.kernelName, 'cpu');
    try {
      // Bag 0: rows 0 and 2; bag 1: padding only (zeros).
      expect(await run()).toEqual({ values: [3, 4, 0, 0], ran: [] });
    } finally {
      for (const c of cpuBagKernelConfigs) registerKernel(c);
    }
    expect(await run()).toEqual({ values: [3, 4, 0, 0], ran: [EMBEDDING_BAG.kernelName] });
    dispose([weight, ids]);
  });
});
