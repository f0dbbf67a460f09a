// The fused embedding bag kernels on tfjs-core alone (no built-in gradient registered).
import '@tensorflow/tfjs-backend-cpu';
import '../src/index.js';
import { defineEmbeddingBagSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: true });
