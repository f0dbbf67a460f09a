/**
 * Shared by the test files: the webgpu backend, and a watch on the device's uncaptured errors.
 * tfjs compiles shaders without checking them, so a WGSL error (or a validation error of a
 * dispatch) would otherwise only show as wrong values; every file fails on any such error.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { backend as activeBackend, getBackend, setBackend } from '@tensorflow/tfjs-core';
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
