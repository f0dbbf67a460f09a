import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkHeapGrowthBetweenCalls,
  checkHeapGrowthInsideCalls,
  checkNoLeaksOver1000Calls,
  checkOutputsOverwriteStaleMemory,
} from './support/heap_checks.js';
import { WASM_SPECS } from './support/ops.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

for (const spec of WASM_SPECS) {
  describe(`${spec.op}: wasm heap`, () => {
    it('outputs overwrite stale memory (empty slices and masked dx are exactly 0)', () =>
      checkOutputsOverwriteStaleMemory(spec));
    it('survives heap growth between calls', () => checkHeapGrowthBetweenCalls(spec));
    it('survives heap growth caused by its own allocations', () =>
      checkHeapGrowthInsideCalls(spec));
    it('1,000 calls (and their gradients) leave numTensors, data ids and the heap size unchanged', () =>
      checkNoLeaksOver1000Calls(spec));
  });
}
