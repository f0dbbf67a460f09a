import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { checkCase } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { pathCases } from './support/path_cases.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

describe('kernel loops (simd module)', () => {
  for (const c of pathCases()) it(c.name, () => checkCase(c));
});
