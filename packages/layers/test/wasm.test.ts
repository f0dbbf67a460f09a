// End-to-end layer checks on tfjs's wasm backend in Node, with the fused kernels of
// @masked-ops/backend-wasm (the suite asserts they are the ones registered). The wasm backend loads
// its .wasm from its dist folder in Node by itself.
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import '@masked-ops/backend-wasm';
import { afterAll } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';

const factors: string[] = [];
defineBackendSuite({
  backend: 'wasm',
  fused: true,
  onFit: (kind, f, reducer) => factors.push(`${reducer} ${kind} ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`wasm: loss fell by ${factors.join(', ')}`));
