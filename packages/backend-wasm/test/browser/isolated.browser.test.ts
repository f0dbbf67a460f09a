// A cross-origin-isolated Chromium page (COOP/COEP): tfjs's threaded-SIMD build, whose heap is a
// shared WebAssembly.Memory, served by our shared-memory SIMD module.
import '../../src/index.js';
import { checkCase, defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../../src/index.js';
import {
  checkHeapGrowthBetweenCalls,
  checkNoLeaksOver1000Calls,
  checkOutputsOverwriteStaleMemory,
} from '../support/heap_checks.js';
import { pathCases } from '../support/path_cases.js';
import { useBundledWasmBinaries } from './wasm_paths.js';

beforeAll(async () => {
  useBundledWasmBinaries();
  expect(await setBackend('wasm')).toBe(true);
});

describe('wasm build in a cross-origin-isolated page', () => {
  it('is tfjs threaded-SIMD on a shared heap, served by the shared-memory module', () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    expect(env().get('WASM_HAS_SIMD_SUPPORT')).toBe(true);
    expect(env().get('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(true);
    const info = wasmKernelModuleInfo();
    expect(info.variant).toBe('simd-shared');
    expect(info.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
  it('outputs overwrite stale memory', () => checkOutputsOverwriteStaleMemory());
  it('survives heap growth between calls', () => checkHeapGrowthBetweenCalls());
  it('1,000 calls leak nothing', () => checkNoLeaksOver1000Calls());
});

describe('kernel loops', () => {
  for (const c of pathCases()) it(c.name, () => checkCase(c));
});

defineConformanceSuite({ describe, it }, { path: 'fused' });
