// WebGL 1 with WEBGL_PACK off.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineExtraCases, webgl } from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_VERSION', 1);
  env().set('WEBGL_PACK', false);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 1, unpacked', () => {
  it('has the expected flags and a WebGL 1 context', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(1);
    expect(webgl().gpgpu.gl).not.toBeInstanceOf(WebGL2RenderingContext);
    expect(env().getBool('WEBGL_PACK')).toBe(false);
  });
});

defineConformanceSuite({ describe, it }, { path: 'fused', precision: 'float32', timeout: 120_000 });
defineExtraCases({ describe, it }, 'float32');
