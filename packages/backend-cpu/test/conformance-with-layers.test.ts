// The fused cpu kernels with tfjs-layers loaded (built-in gradients registered).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

defineConformanceSuite({ describe, it }, { path: 'fused', secondOrder: true });
