// The composite fallback on tfjs-core alone: no plugin kernel and no built-in gradient registered,
// so both the forward and the gradient must come from the op itself.
import '@tensorflow/tfjs-backend-cpu';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import '../src/index.js';
import { defineConformanceSuite } from '../src/testing/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineConformanceSuite({ describe, it }, { path: 'fallback' });
