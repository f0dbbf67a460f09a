import { defineConfig } from 'vitest/config';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

// One long test file: packing, a real npm install from the registry, a Vite build, a browser.
export default defineConfig({
  test: { ...nodeTestConfig('consumer-smoke'), testTimeout: 600_000, hookTimeout: 600_000 },
});
