import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { checkCase } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { WASM_SPECS } from './support/ops.js';
import { pathCases } from './support/path_cases.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

for (const spec of WASM_SPECS) {
  describe(`${spec.op}: kernel loops (simd modules)`, () => {
    for (const c of pathCases()) it(c.name, () => checkCase(spec, c));
  });
}
