/**
 * Headless Chromium for the WebGL and browser-WASM tests, from the npm package @sparticuz/chromium
 * (no browser download, no apt). `CHROMIUM_PATH` points the tests at another Chromium instead, e.g.
 * a desktop Chrome with a real GPU. If neither yields a browser the config throws, so the run fails
 * instead of skipping the browser suites.
 */
import { playwright } from '@vitest/browser-playwright';
import type { TestProjectInlineConfiguration } from 'vitest/config';
import { CHROMIUM_ARGS, CHROMIUM_WEBGPU_ARGS, chromiumExecutable } from './chromium.mjs';

export interface BrowserProjectOptions {
  /** Vitest project name; also names the JSON report. */
  name: string;
  include: string[];
  /** Serve the test pages cross-origin isolated (COOP/COEP), enabling SharedArrayBuffer. */
  crossOriginIsolated?: boolean;
  /** Launch with WebGPU on SwiftShader (CHROMIUM_WEBGPU_ARGS). */
  webgpu?: boolean;
  testTimeout?: number;
}

/** A vitest project running `include` in headless Chromium. Each call builds its own options. */
export async function browserProject(
  options: BrowserProjectOptions,
): Promise<TestProjectInlineConfiguration> {
  const executablePath = await chromiumExecutable();
  const args = options.webgpu ? [...CHROMIUM_ARGS, ...CHROMIUM_WEBGPU_ARGS] : CHROMIUM_ARGS;
  const headers = options.crossOriginIsolated
    ? {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      }
    : undefined;
  return {
    server: headers ? { headers } : {},
    test: {
      name: options.name,
      include: options.include,
      testTimeout: options.testTimeout ?? 300_000,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({ launchOptions: { executablePath, args } }),
        instances: [{ browser: 'chromium' as const }],
      },
    },
  };
}
