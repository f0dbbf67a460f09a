import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { nodeTestConfig, reporters } from '../../tooling/vitest-shared.js';

// One run, one JSON report (`reportFile('layers')`): a Node project (cpu and wasm backends) and a
// headless-Chromium project (webgl, files named `*.browser.test.ts`).
const { reporters: _nodeReporters, ...node } = nodeTestConfig('layers');

export default defineConfig(async () => ({
  test: {
    reporters: reporters('layers'),
    projects: [
      { test: { name: 'node', ...node } },
      await browserProject({ name: 'webgl', include: ['test/**/*.browser.test.ts'] }),
    ],
  },
}));
