// The fused masked softmaxes on wasm in Node (tfjs's SIMD build, our SIMD module) on tfjs-core
// alone: the conformance kit (both ops, every case, forward and gradient against core's float64
// reference, the fused-path check, every error), then the heap: outputs written everywhere over
// stale memory, and repeated calls leave the tensor count and the heap size unchanged.
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { defineSoftmaxSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { defineSoftmaxHeapChecks } from './support/softmax_checks.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

defineSoftmaxSuite({ describe, it }, { path: 'fused' });
defineSoftmaxHeapChecks({ describe, it });
