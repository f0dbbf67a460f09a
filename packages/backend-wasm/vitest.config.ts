import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { browserProject } from '../../tooling/vitest-browser.js';
import { nodeTestConfig } from '../../tooling/vitest-shared.js';

// Four projects: Node (tfjs's SIMD build, plus its plain build in one file), a plain Chromium page
// (SIMD build), a cross-origin-isolated Chromium page (threaded-SIMD build, shared heap) and an
// isolated page with threads turned off (SIMD build). Each browser test file asserts which build
// it got, so a misconfigured page fails instead of testing the same build twice. One JSON report
// (reportFile('backend-wasm')) covers all four.
export default defineConfig(async () => {
  // turbo's `generate` task builds the kernel modules before `test`; a bare `npx vitest run` in a
  // fresh clone has none yet, so generate them here (once: the file is then present).
  const root = new URL('.', import.meta.url).pathname;
  if (!existsSync(`${root}src/generated/wasm_modules.ts`)) {
    execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { cwd: root, stdio: 'inherit' });
  }
  const { reporters, ...node } = nodeTestConfig('backend-wasm');
  return {
    test: {
      reporters,
      projects: [
        { test: { ...node, name: 'node' } },
        await browserProject({
          name: 'chromium-simd',
          include: ['test/browser/plain.browser.test.ts'],
        }),
        await browserProject({
          name: 'chromium-threaded-simd',
          include: ['test/browser/isolated.browser.test.ts'],
          crossOriginIsolated: true,
        }),
        // The README's threads-off workaround on an isolated page (which binary tfjs picks).
        await browserProject({
          name: 'chromium-isolated-threads-off',
          include: ['test/browser/isolated-no-threads.browser.test.ts'],
          crossOriginIsolated: true,
        }),
      ],
    },
  };
});
