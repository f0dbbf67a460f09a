// End-to-end layer checks on tfjs's cpu backend with the fused cpu kernels.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import '@masked-ops/backend-cpu';
import { setBackend } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineBackendSuite } from './support/backend_suite.js';
import { FIT_MIN_FACTOR, fitScenario } from './support/scenarios.js';

const factors: string[] = [];
defineBackendSuite({
  backend: 'cpu',
  fused: true,
  onFit: (kind, f, reducer) => factors.push(`${reducer} ${kind} ${f.toExponential(2)}x`),
  onSoftmaxFit: (f) => factors.push(`softmax embedding ${f.toExponential(2)}x`),
});
afterAll(() => console.log(`cpu: loss fell by ${factors.join(', ')}`));

describe('the fit task needs the mask (contrast, cpu)', () => {
  beforeAll(async () => {
    await setBackend('cpu');
  });

  it('with tfjs-layers’ own GlobalAveragePooling1D the same training stalls (loss floor > 0.01)', async () => {
    // Measured: initial 0.25 -> 0.070 (embedding), 0.34 -> 0.070 (onehot): the padded mean cannot
    // represent "mean over real tokens", so the >= 1000x bar above is one only the mask clears.
    for (const kind of ['embedding', 'onehot'] as const) {
      const r = await fitScenario(kind, 'stock');
      expect(r.finalLoss).toBeGreaterThan(0.01);
      expect(r.finalLoss).toBeGreaterThan(r.initialLoss / FIT_MIN_FACTOR);
    }
  });

  it('with tfjs-layers’ own GlobalMaxPooling1D the max task stalls too (loss floor > 0.01)', async () => {
    // Measured: initial 0.88 -> 0.027 (embedding), 0.51 -> 0.028 (onehot), against >= 3e5x with
    // the mask: the padding's vector takes part in every row's max, all-padding rows included.
    for (const kind of ['embedding', 'onehot'] as const) {
      const r = await fitScenario(kind, 'stock', 'max');
      expect(r.finalLoss).toBeGreaterThan(0.01);
      expect(r.finalLoss).toBeGreaterThan(r.initialLoss / FIT_MIN_FACTOR);
    }
  });
});
