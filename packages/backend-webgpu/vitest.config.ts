import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { reporters } from '../../tooling/vitest-shared.js';

// Headless Chromium with WebGPU on SwiftShader (--enable-unsafe-webgpu and Vulkan SwiftShader:
// tooling/chromium.mjs). A missing adapter fails the configuration test, never skips.
export default defineConfig(async () => ({
  test: {
    reporters: reporters('backend-webgpu'),
    projects: [
      await browserProject({
        name: 'chromium-webgpu',
        include: ['test/**/*.browser.test.ts'],
        webgpu: true,
      }),
    ],
  },
}));
