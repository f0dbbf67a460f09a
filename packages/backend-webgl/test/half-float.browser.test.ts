// WebGL 2 with WEBGL_FORCE_F16_TEXTURES (what many phones get): every texture, including our
// partial sums, is half-float, so the suite runs against the documented float16 bound.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import { conformanceCases, defineConformanceSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkCaseOnPlatform,
  defineExtraCases,
  definePackedInputCases,
  expectsInf,
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

// The shared suite, except the cases expecting ±Inf, which run below: where half-float textures
// cannot hold Inf (SwiftShader stores NaN), an expected ±Inf may read back as NaN.
const all = conformanceCases();
const infCases = all.filter(expectsInf);
defineConformanceSuite(
  { describe, it },
  {
    path: 'fused',
    precision: 'float16',
    timeout: 120_000,
    cases: all.filter((c) => !expectsInf(c)),
  },
);
describe('conformance cases expecting ±Inf (half-float)', () => {
  it('are the ones expected', () => {
    expect(infCases.map((c) => c.name)).toEqual([
      'NaN/±Inf in valid positions',
      'non-finite dy stays out of masked positions',
    ]);
  });
  for (const c of infCases) it(c.name, () => checkCaseOnPlatform(c, 'float16'), 120_000);
});
defineExtraCases({ describe, it }, 'float16');
definePackedInputCases({ describe, it }, 'float16');
