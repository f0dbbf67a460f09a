// Primary configuration: WebGL 2, tfjs defaults (WEBGL_PACK on, float32 textures).
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration', () => {
  it('is WebGL 2 with packing and float32 textures', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(env().getBool('WEBGL_PACK')).toBe(true);
    expect(env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(true);
  });
});

defineConformanceSuite({ describe, it }, { path: 'fused', precision: 'float32', timeout: 120_000 });
