// End-to-end layer checks on tfjs's wasm backend in Node, with the fused kernels of
// @masked-ops/backend-wasm (the suite asserts they are the ones registered). The wasm backend loads
// its .wasm from its dist folder in Node by itself.
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import '@masked-ops/backend-wasm';
import { setBackend } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';
import { FIT_MIN_FACTOR, fitScenario } from './support/scenarios.js';

const factors: string[] = [];
defineBackendSuite({
  backend: 'wasm',
  fused: true,
  onFit: (kind, f, reducer) => factors.push(`${reducer} ${kind} ${f.toExponential(2)}x`),
  onSoftmaxFit: (f) => factors.push(`softmax embedding ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`wasm: loss fell by ${factors.join(', ')}`));

describe('a stock Embedding trains on wasm (issue 13)', () => {
  beforeAll(async () => {
    expect(await setBackend('wasm')).toBe(true);
  });

  // tfjs's Embedding is a Gather, whose gradient is UnsortedSegmentSum: tfjs-backend-wasm 4.22 has
  // no such kernel, so without one from @masked-ops/backend-wasm `fit` throws "Kernel
  // 'UnsortedSegmentSum' not registered for backend 'wasm'".
  it(`tf.layers.embedding({maskZero: true}) -> globalAveragePooling1d -> Dense: model.fit, loss falls >= ${FIT_MIN_FACTOR}x, no NaN, no leak`, async () => {
    const r = await fitScenario('embedding', 'masked', 'mean');
    factors.push(
      `mean embedding (stock Embedding) ${(r.initialLoss / r.finalLoss).toExponential(2)}x`,
    );
    expect(Number.isFinite(r.initialLoss)).toBe(true);
    expect(r.epochLosses.every(Number.isFinite)).toBe(true);
    expect(r.weightsFinite).toBe(true);
    expect(r.finalLoss).toBeLessThan(r.initialLoss / FIT_MIN_FACTOR);
    expect(r.tensorsAfterFit).toBe(r.tensorsBeforeFit);
  });
});
