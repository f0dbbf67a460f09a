// The embedding bag and UnsortedSegmentSum on the scalar kernel modules (tfjs's plain, non-SIMD
// build), in Node: the bag and scatter modules share the drivers with the SIMD ones but not the
// loops, so they get the same coverage. Set up as conformance-scalar.test.ts.
import { createRequire } from 'node:module';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { defineEmbeddingBagSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import {
  bagFailureCases,
  checkBagHeapStable,
  checkBagNearFloat32Max,
  checkBagOutputsOverwriteStaleMemory,
} from './support/bag_checks.js';
import {
  checkSegmentSumAgainstCpu,
  checkSegmentSumLiteral,
  randomSegmentCases,
  SEGMENT_SUM_LITERALS,
} from './support/segment_sum_checks.js';

const require = createRequire(import.meta.url);

beforeAll(async () => {
  env().set('WASM_HAS_SIMD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': require.resolve(
      '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    ),
    'tfjs-backend-wasm-simd.wasm': '/nonexistent/tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm': '/nonexistent/tfjs-backend-wasm-threaded-simd.wasm',
  });
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('scalar');
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: true });

describe('embeddingBag: scalar modules', () => {
  it('outputs are written everywhere', () => checkBagOutputsOverwriteStaleMemory());
  it('1,000 calls leak nothing', () => checkBagHeapStable());
  it('a mean of 3e38s is 3e38, the sum +Inf', () => checkBagNearFloat32Max());
  for (const c of bagFailureCases()) it(`${c.name}: the heap stays usable`, () => c.run());
});

describe('unsortedSegmentSum: scalar modules', () => {
  for (const l of SEGMENT_SUM_LITERALS) it(l.name, () => checkSegmentSumLiteral(l));
  for (const c of randomSegmentCases(8083, 20)) {
    it(`equals tfjs-backend-cpu: ${c.name}`, () => checkSegmentSumAgainstCpu(c));
  }
});
