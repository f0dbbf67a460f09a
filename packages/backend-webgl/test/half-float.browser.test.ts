// WebGL 2 with WEBGL_FORCE_F16_TEXTURES (what many phones get): every texture, including our
// partial states, is half-float, so the suite runs against the documented float16 bound, on
// inputs as half-float textures hold them (rounded; SwiftShader stores ±Inf as NaN).
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineExtraCases,
  definePackedInputCases,
  defineSecondarySuite,
  defineTexelCases,
  roundTrip,
} from './helpers.js';

beforeAll(async () => {
  env().set('WEBGL_FORCE_F16_TEXTURES', true);
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 2, half-float textures', () => {
  it('has the expected flags, and textures really round to half precision', async () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(env().getBool('WEBGL_FORCE_F16_TEXTURES')).toBe(true);
    expect(env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(false);
    // 1/3 in float16 is 0.333251953125 (float32: 0.3333333432674408).
    expect(await roundTrip(1 / 3)).toBe(0.333251953125);
  });
});

defineSecondarySuite({ describe, it }, 'float16');
defineExtraCases({ describe, it }, 'float16', ['mean']);
definePackedInputCases({ describe, it }, 'float16', ['mean']);
defineTexelCases({ describe, it }, 'float16', undefined, 'packed');
