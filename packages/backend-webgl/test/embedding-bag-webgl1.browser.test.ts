// The embedding bag's fused kernels on WebGL 1 (GLSL ES 1.00: constant loop bounds, no integer
// `%` or bit operations, which the bag programs avoid): core's conformance suite, as on WebGL 2.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { defineEmbeddingBagSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { webgl } from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_VERSION', 1);
  expect(await setBackend('webgl')).toBe(true);
  expect(webgl().gpgpu.gl).not.toBeInstanceOf(WebGL2RenderingContext);
});

defineEmbeddingBagSuite({ describe, it }, { path: 'fused', readsIds: false, timeout: 120_000 });
