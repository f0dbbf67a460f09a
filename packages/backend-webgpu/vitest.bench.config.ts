import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';

// `pnpm --filter @masked-ops/backend-webgpu bench`: prints timings (fused, composite, tfjs's
// unmasked op) on WebGPU in headless Chromium; asserts nothing about speed.
export default defineConfig(async () => ({
  test: {
    projects: [
      await browserProject({
        name: 'chromium-webgpu-bench',
        include: ['bench/**/*.bench.browser.ts'],
        webgpu: true,
        testTimeout: 600_000,
      }),
    ],
  },
}));
