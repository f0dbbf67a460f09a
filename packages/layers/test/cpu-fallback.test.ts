// The same end-to-end checks on the cpu backend with NO plugin loaded: maskedMean takes
// @masked-ops/core's composite fallback (built-in ops + the op's own gradient), which is what a
// user gets on a backend without a fused kernel.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { afterAll } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';

const factors: string[] = [];
defineBackendSuite({
  backend: 'cpu',
  fused: false,
  onFit: (kind, f, reducer) => factors.push(`${reducer} ${kind} ${f.toExponential(2)}x`),
  onSoftmaxFit: (f) => factors.push(`softmax embedding ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`cpu (fallback): loss fell by ${factors.join(', ')}`));
