import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

// Node (cpu backend: the fallback with and without tfjs's built-in gradients, references,
// geometry) and headless Chromium with WebGPU on SwiftShader: the fallback on the backend that
// importing @tensorflow/tfjs-backend-webgpu makes the default, where a bool -> float32 cast is
// broken in 4.22 (tfjs#8638). One JSON report covers both.
export default defineConfig(async () => {
  const { reporters, ...node } = nodeTestConfig('core');
  return {
    test: {
      reporters,
      projects: [
        { test: { ...node, name: 'node' } },
        await browserProject({
          name: 'chromium-webgpu',
          include: ['test/**/*.browser.test.ts'],
          webgpu: true,
        }),
      ],
    },
  };
});
