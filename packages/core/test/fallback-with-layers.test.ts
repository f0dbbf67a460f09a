// The same fallback suite with tfjs-layers loaded, which registers tfjs's built-in gradients.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import '../src/index.js';
import { defineConformanceSuite } from '../src/testing/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineConformanceSuite({ describe, it }, { path: 'fallback', secondOrder: true });
