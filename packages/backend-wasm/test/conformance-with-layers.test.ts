// The fused wasm kernels in Node with tfjs-layers loaded (built-in gradients registered).
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

defineConformanceSuite({ describe, it }, { path: 'fused', secondOrder: true });
