// The fused wasm kernels in Node with tfjs-layers loaded (built-in gradients registered), every
// op of the table, with double backprop.
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { WASM_OPS } from './support/ops.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

defineConformanceSuite({ describe, it }, { path: 'fused', ops: WASM_OPS, secondOrder: true });
