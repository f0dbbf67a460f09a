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

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

describe('wasm heap', () => {
  it('outputs overwrite stale memory (all-masked rows and masked dx are exactly 0)', () =>
    checkOutputsOverwriteStaleMemory());
  it('survives heap growth between calls', () => checkHeapGrowthBetweenCalls());
  it('survives heap growth caused by its own allocations', () => checkHeapGrowthInsideCalls());
  it('1,000 calls leave numTensors, data ids and the heap size unchanged', () =>
    checkNoLeaksOver1000Calls());
});
