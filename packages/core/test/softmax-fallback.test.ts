// The masked softmaxes' composite fallback on tfjs-core's cpu backend with no plugin kernel and
// no built-in gradient registered: forward and gradient come from the op itself.
import '@tensorflow/tfjs-backend-cpu';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import '../src/index.js';
import { defineSoftmaxSuite } from '../src/testing/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineSoftmaxSuite({ describe, it }, { path: 'fallback' });
