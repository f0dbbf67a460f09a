// The fused cpu kernels with tfjs-layers loaded (built-in gradients registered).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite, defineSoftmaxSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

defineConformanceSuite({ describe, it }, { path: 'fused', secondOrder: true });
// The softmaxes' structural cases only: their gradient needs no built-in one, so this checks
// just that loading tfjs-layers does not change which kernels run.
defineSoftmaxSuite({ describe, it }, { path: 'fused', structuralOnly: true });
