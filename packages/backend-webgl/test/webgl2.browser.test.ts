// Primary configuration: WebGL 2 with tfjs's defaults (WEBGL_PACK on, float32 textures). Runs the
// full shared conformance suite for every op (with double backprop), the extra cases for every op,
// and every case again with packed input textures. tfjs-layers registers tfjs's built-in gradients
// (as an app using @tensorflow/tfjs has them), which the double-backprop checks need.
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineExtraCases,
  definePackedInputCases,
  defineTexelCases,
  roundTrip,
  WEBGL_OPS,
  webgl,
} from './helpers.js';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

describe('configuration: WebGL 2, packed, float32 textures', () => {
  it('has the expected flags and context', async () => {
    expect(env().getNumber('WEBGL_VERSION')).toBe(2);
    expect(webgl().gpgpu.gl).toBeInstanceOf(WebGL2RenderingContext);
    expect(env().getBool('WEBGL_PACK')).toBe(true);
    expect(env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(true);
    expect(await roundTrip(1 / 3)).toBe(Math.fround(1 / 3));
  });
});

defineConformanceSuite(
  { describe, it },
  { path: 'fused', precision: 'float32', timeout: 120_000, secondOrder: true, ops: WEBGL_OPS },
);
defineExtraCases({ describe, it }, 'float32', WEBGL_OPS);
definePackedInputCases({ describe, it }, 'float32', WEBGL_OPS);
defineTexelCases({ describe, it }, 'float32', WEBGL_OPS, 'all');
