import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { reporters } from '../../tooling/vitest-shared.js';

// `pnpm bench:bag` sets WEBGL_BAG_BENCH: the embedding bag's timings (bench/, printed, not
// asserted) instead of the tests, with their own report file.
const bench = process.env['WEBGL_BAG_BENCH'] === '1';

export default defineConfig(async () => ({
  test: {
    reporters: reporters(bench ? 'backend-webgl-bench' : 'backend-webgl'),
    projects: [
      await browserProject(
        bench
          ? { name: 'webgl2-bench', include: ['bench/**/*.browser.test.ts'], testTimeout: 900_000 }
          : { name: 'webgl2', include: ['test/**/*.browser.test.ts'] },
      ),
    ],
  },
}));
