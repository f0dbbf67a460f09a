import { defineConfig } from 'vitest/config';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

export default defineConfig({ test: nodeTestConfig('backend-cpu') });
