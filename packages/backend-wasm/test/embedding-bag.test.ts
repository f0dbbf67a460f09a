// The embedding bag's fused wasm kernels in Node (tfjs's SIMD build, our simd modules): core's
// conformance suite (every case forward and both gradients against the float64 reference, the
// kernel path, every error incl. the ids and offsets the kernels read), then the heap: outputs
// written everywhere, no growth over 1,000 calls, heap growth between and inside calls, and
// failed calls (out of memory, bad ids or offsets) that leave it as it was and usable.
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { defineEmbeddingBagSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import {
  bagFailureCases,
  checkBagHeapGrowth,
  checkBagHeapStable,
  checkBagNearFloat32Max,
  checkBagOutputsOverwriteStaleMemory,
} from './support/bag_checks.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: true });

describe('embeddingBag: wasm heap', () => {
  it('outputs are written everywhere (exact zeros for empty bags, untouched rows, padding)', () =>
    checkBagOutputsOverwriteStaleMemory());
  it('1,000 calls (and their gradients) leave numTensors, data ids and the heap size unchanged', () =>
    checkBagHeapStable());
  it('survives heap growth between calls and inside the gradient', () => checkBagHeapGrowth());
  for (const c of bagFailureCases()) {
    it(`${c.name}: throws, leaks nothing, writes nothing, the next call works`, () => c.run());
  }
});

describe('embeddingBag: float32 overflow', () => {
  it('a mean of 3e38s is 3e38 (float64 slow path), the sum +Inf', () => checkBagNearFloat32Max());
});
