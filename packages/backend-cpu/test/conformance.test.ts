// The fused cpu kernels on tfjs-core alone (no built-in gradient registered).
import '@tensorflow/tfjs-backend-cpu';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

defineConformanceSuite({ describe, it }, { path: 'fused' });
