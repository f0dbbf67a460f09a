// WebGL 1 with WEBGL_PACK off.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineExtraCases, defineSecondarySuite, defineTexelCases, webgl } from './helpers.js';

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

defineSecondarySuite({ describe, it }, 'float32');
defineExtraCases({ describe, it }, 'float32', ['mean']);
defineTexelCases({ describe, it }, 'float32');
