import '@tensorflow/tfjs-backend-wasm';
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
import { wasmBagKernelConfigs, wasmKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

defineRegistrationSuite({ describe, it }, 'wasm', wasmKernelConfigs);

// defineRegistrationSuite covers the op table's rows; the embedding bag's kernels are checked here.
describe('wasm embedding bag kernel registration', () => {
  const names: string[] = Object.values(EMBEDDING_BAG);

  it('importing the plugin registers its three exported bag configs', () => {
    expect(wasmBagKernelConfigs.map((c) => c.kernelName).sort()).toEqual([...names].sort());
    for (const config of wasmBagKernelConfigs) {
      expect(config.backendName).toBe('wasm');
      expect(wasmKernelConfigs).toContain(config);
      expect(getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
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
    for (const c of wasmBagKernelConfigs) unregisterKernel(c.kernelName, 'wasm');
    try {
      // Bag 0: rows 0 and 2, mean [3, 4]; bag 1: padding only (zeros). Worked by hand.
      expect(await run()).toEqual({ values: [3, 4, 0, 0], ran: [] });
    } finally {
      for (const c of wasmBagKernelConfigs) registerKernel(c);
    }
    expect(await run()).toEqual({ values: [3, 4, 0, 0], ran: [EMBEDDING_BAG.kernelName] });
    dispose([weight, ids]);
  });
});
