// WebGL 2 with WEBGL_PACK off: every tfjs op (and so every input our kernels see) is unpacked.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { add, dispose, env, setBackend, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineExtraCases, defineSecondarySuite, defineTexelCases, webgl } from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_PACK', false);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 2, unpacked, float32 textures', () => {
  it('has the expected flags, and tfjs ops really produce unpacked textures', () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(webgl().gpgpu.gl).toBeInstanceOf(WebGL2RenderingContext);
    expect(env().getBool('WEBGL_PACK')).toBe(false);
    expect(env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(true);
    const a = tensor(new Float32Array(300).fill(1), [10, 30]);
    webgl().uploadToGPU(a.dataId);
    const b = add(a, a);
    expect(webgl().texData.get(b.dataId).isPacked ?? false).toBe(false);
    dispose([a, b]);
  });
});

defineSecondarySuite({ describe, it }, 'float32');
defineExtraCases({ describe, it }, 'float32', ['mean', 'max']);
defineTexelCases({ describe, it }, 'float32');
