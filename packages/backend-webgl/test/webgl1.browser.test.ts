// WebGL 1 (GLSL ES 1.00: constant loop bounds, no integer `%`), tfjs defaults otherwise (packed).
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineExtraCases,
  definePackedInputCases,
  defineSecondarySuite,
  defineTexelCases,
  webgl,
} from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_VERSION', 1);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 1, packed', () => {
  it('has the expected flags and a WebGL 1 context', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(1);
    const gl = webgl().gpgpu.gl;
    expect(gl).toBeInstanceOf(WebGLRenderingContext);
    expect(gl).not.toBeInstanceOf(WebGL2RenderingContext);
    expect(env().getBool('WEBGL_PACK')).toBe(true);
  });
});

defineSecondarySuite({ describe, it }, 'float32');
defineExtraCases({ describe, it }, 'float32', ['mean', 'max']);
definePackedInputCases({ describe, it }, 'float32', ['mean']);
defineTexelCases({ describe, it }, 'float32', undefined, 'packed');
