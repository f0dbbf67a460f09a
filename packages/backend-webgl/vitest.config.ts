import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { reportFile } from '../../tooling/vitest-shared.js';

export default defineConfig(async () => ({
  test: {
    reporters: ['default', ['json', { outputFile: reportFile('backend-webgl') }]],
    projects: [await browserProject({ name: 'webgl2', include: ['test/**/*.browser.test.ts'] })],
  },
}));
