import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { reporters } from '../../tooling/vitest-shared.js';

export default defineConfig(async () => ({
  test: {
    reporters: reporters('backend-webgl'),
    projects: [await browserProject({ name: 'webgl2', include: ['test/**/*.browser.test.ts'] })],
  },
}));
