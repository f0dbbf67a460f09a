// The embedding bag's fallback on tfjs-core + its cpu backend with no plugin kernel and no built-in
// gradient registered: the forward and both gradients come from built-in ops through the op's
// own customGrad.
import '@tensorflow/tfjs-backend-cpu';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import '../src/index.js';
import { defineEmbeddingBagSuite } from '../src/testing/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fallback', readsIds: false });
