import { defineConfig } from 'vitest/config';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

// One test per README block; each run spawns Node (about a second with tfjs), type-checking all
// blocks is one TypeScript program built before the tests.
export default defineConfig({
  test: { ...nodeTestConfig('readme-snippets'), testTimeout: 90_000, hookTimeout: 120_000 },
});
