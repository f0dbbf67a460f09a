// End-to-end layer checks on tfjs's wasm backend in Node. The fused kernels come from
// @masked-ops/backend-wasm once that package is built; until then maskedMean takes core's
// composite fallback, and the suite asserts which path ran.
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { afterAll } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';

const factors: string[] = [];
defineBackendSuite({
  backend: 'wasm',
  fused: false,
  onFit: (kind, f) => factors.push(`${kind} ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`wasm: loss fell by ${factors.join(', ')}`));
