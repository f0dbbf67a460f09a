// The fused wasm kernels in Node on tfjs-core alone (no built-in gradient registered): tfjs's SIMD
// build with our SIMD modules, every op of the table.
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { WASM_OPS } from './support/ops.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

describe('wasm build in Node', () => {
  it('is tfjs SIMD (not threaded) on an unshared heap, served by the simd modules', () => {
    expect(env().get('WASM_HAS_SIMD_SUPPORT')).toBe(true);
    expect(env().get('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(false);
    const info = wasmKernelModuleInfo();
    expect(info.variant).toBe('simd');
    expect(info.memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });
});

defineConformanceSuite({ describe, it }, { path: 'fused', ops: WASM_OPS });
