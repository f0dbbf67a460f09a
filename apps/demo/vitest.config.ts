import { defineConfig } from 'vitest/config';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

export default defineConfig({
  test: { ...nodeTestConfig('demo'), testTimeout: 600_000, hookTimeout: 300_000 },
});
