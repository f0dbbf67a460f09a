/**
 * Shared by the test files: the webgpu backend, and a watch on the device's uncaptured errors.
 * tfjs compiles shaders without checking them, so a WGSL error (or a validation error of a
 * dispatch) would otherwise only show as wrong values; every file fails on any such error.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  backend as activeBackend,
  getBackend,
  memory,
  setBackend,
  tensor,
} from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect } from 'vitest';

export const webgpu = (): WebGPUBackend => activeBackend() as WebGPUBackend;

const deviceErrors: string[] = [];

/** Activates 'webgpu' (failing the file when there is no adapter) and watches its device. */
export function useWebGPU(): void {
  beforeAll(async () => {
    const gpu = (navigator as Navigator & { gpu?: unknown }).gpu;
    expect(gpu, 'navigator.gpu (launch Chromium with --enable-unsafe-webgpu)').toBeDefined();
    expect(await setBackend('webgpu')).toBe(true);
    expect(getBackend()).toBe('webgpu');
    webgpu().device.addEventListener('uncapturederror', (event) => {
      deviceErrors.push((event as GPUUncapturedErrorEvent).error.message);
    });
  });
  afterAll(() => {
    expect(deviceErrors, 'uncaptured WebGPU errors (shader compilation, validation)').toEqual([]);
  });
}

/** What a leak would grow: live tensors, data ids, used GPU buffers and their bytes. */
function resources() {
  const backend = webgpu();
  return {
    tensors: memory().numTensors,
    dataIds: backend.numDataIds(),
    buffers: backend.bufferManager.getNumUsedBuffers(),
    bytes: backend.memory().numBytesInGPU,
  };
}

/**
 * Runs `work` once to warm up (pipelines, uniform buffers, tfjs's own pools), then twice more,
 * and expects every resource back where it was after the warm-up. Each run ends by reading a
 * fresh tensor back: tfjs releases buffers a submitted command still uses only after the next
 * submission.
 */
export async function expectNoResourceGrowth(work: () => Promise<void>): Promise<void> {
  const cycle = async () => {
    await work();
    const flush = tensor([1]);
    await flush.data();
    flush.dispose();
  };
  await cycle();
  const before = resources();
  await cycle();
  await cycle();
  expect(resources()).toEqual(before);
}
