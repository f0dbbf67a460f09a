// The fallback on tfjs's WebGPU backend in headless Chromium (SwiftShader adapter). There is no
// masked-ops plugin for webgpu yet, so every op must run its composite and give the spec's results;
// a missing adapter fails the run (a skipped backend is a failed backend).
import '@tensorflow/tfjs-backend-webgpu';
import { getBackend, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';
import {
  defineConformanceSuite,
  defineEmbeddingBagSuite,
  defineSoftmaxSuite,
} from '../src/testing/index.js';

beforeAll(async () => {
  expect(await setBackend('webgpu')).toBe(true);
});

describe('configuration: WebGPU on SwiftShader', () => {
  it('has a WebGPU adapter and the webgpu backend is active', async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    expect(gpu, 'navigator.gpu (launch Chromium with --enable-unsafe-webgpu)').toBeDefined();
    expect(await gpu!.requestAdapter(), 'a WebGPU adapter').not.toBeNull();
    expect(getBackend()).toBe('webgpu');
  });
});

defineConformanceSuite({ describe, it }, { path: 'fallback', timeout: 120_000 });
defineEmbeddingBagSuite({ describe, it }, { path: 'fallback', readsIds: false, timeout: 120_000 });
defineSoftmaxSuite({ describe, it }, { path: 'fallback', timeout: 120_000 });
