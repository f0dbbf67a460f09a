// The browser suite, shared by the plain page (tfjs's SIMD build) and the cross-origin-isolated
// page (threaded-SIMD build): first it asserts which build and kernel modules the page really
// got, so a misconfigured page fails instead of testing the same build twice. Every op, the
// masked softmaxes, the embedding bag and UnsortedSegmentSum.
import '../../src/index.js';
import {
  checkCase,
  defineConformanceSuite,
  defineEmbeddingBagSuite,
  defineSoftmaxSuite,
} from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../../src/index.js';
import {
  bagFailureCases,
  checkBagHeapStable,
  checkBagOutputsOverwriteStaleMemory,
} from '../support/bag_checks.js';
import {
  checkHeapGrowthBetweenCalls,
  checkNoLeaksOver1000Calls,
  checkOutputsOverwriteStaleMemory,
} from '../support/heap_checks.js';
import { WASM_OPS, WASM_SPECS } from '../support/ops.js';
import { pathCases } from '../support/path_cases.js';
import { checkSegmentSumLiteral, SEGMENT_SUM_LITERALS } from '../support/segment_sum_checks.js';
import { defineSoftmaxHeapChecks } from '../support/softmax_checks.js';
import { useBundledWasmBinaries } from './wasm_paths.js';

export function defineBrowserWasmSuite(page: { isolated: boolean }): void {
  beforeAll(async () => {
    useBundledWasmBinaries();
    expect(await setBackend('wasm')).toBe(true);
  });

  const build = page.isolated
    ? 'tfjs threaded-SIMD on a shared heap, served by the shared-memory modules'
    : 'tfjs SIMD without threads on an unshared heap, served by the simd modules';
  describe(`wasm build in a ${page.isolated ? 'cross-origin-isolated' : 'plain'} page`, () => {
    it(`is ${build}`, () => {
      expect(globalThis.crossOriginIsolated).toBe(page.isolated);
      expect(env().get('WASM_HAS_SIMD_SUPPORT')).toBe(true);
      expect(env().get('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(page.isolated);
      const info = wasmKernelModuleInfo();
      expect(info.variant).toBe(page.isolated ? 'simd-shared' : 'simd');
      expect(info.memory.buffer).toBeInstanceOf(page.isolated ? SharedArrayBuffer : ArrayBuffer);
    });
  });

  for (const spec of WASM_SPECS) {
    describe(`${spec.op}: heap and kernel loops`, () => {
      it('outputs overwrite stale memory', () => checkOutputsOverwriteStaleMemory(spec));
      it('survives heap growth between calls', () => checkHeapGrowthBetweenCalls(spec));
      it('1,000 calls leak nothing', () => checkNoLeaksOver1000Calls(spec));
      for (const c of pathCases()) it(c.name, () => checkCase(spec, c));
    });
  }

  defineConformanceSuite({ describe, it }, { path: 'fused', ops: WASM_OPS });

  defineSoftmaxSuite({ describe, it }, { path: 'fused' });
  defineSoftmaxHeapChecks({ describe, it });

  defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: true });
  describe('embeddingBag: heap', () => {
    it('outputs are written everywhere', () => checkBagOutputsOverwriteStaleMemory());
    it('1,000 calls leak nothing', () => checkBagHeapStable());
    for (const c of bagFailureCases()) it(`${c.name}: the heap stays usable`, () => c.run());
  });

  describe('unsortedSegmentSum (worked by hand)', () => {
    for (const l of SEGMENT_SUM_LITERALS) it(l.name, () => checkSegmentSumLiteral(l));
  });
}
