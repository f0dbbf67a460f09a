import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import {
  CHROMIUM_ARGS,
  CHROMIUM_WEBGPU_ARGS,
  chromiumExecutable,
} from '../../../../tooling/chromium.mjs';
import type { DemoApi } from '../web/api.js';
import { demoRoot } from './paths.js';

export interface DemoPage {
  page: Page;
  url: string;
  /** Calls a function of the page's `window.maskedOpsDemo` and returns its (cloned) result. */
  call<K extends keyof DemoApi>(
    name: K,
    ...args: Parameters<DemoApi[K]>
  ): Promise<Awaited<ReturnType<DemoApi[K]>>>;
  close(): Promise<void>;
}

/**
 * Serves the demo page with Vite on loopback and opens it in headless Chromium (from
 * @sparticuz/chromium, or CHROMIUM_PATH), WebGPU enabled. Throws if the browser cannot start: the
 * browser backends are part of the matrix, never silently dropped.
 */
export async function openDemoPage(
  onLog?: (line: string) => void,
  /**
   * Launch with WebGPU on SwiftShader (CHROMIUM_WEBGPU_ARGS); always, except in the test that
   * checks that a page without an adapter fails chromium:webgpu.
   */
  { webgpu = true }: { webgpu?: boolean } = {},
): Promise<DemoPage> {
  const server: ViteDevServer = await createServer({
    root: demoRoot,
    configFile: join(demoRoot, 'vite.config.ts'),
    logLevel: 'error',
    // No watcher, no HMR: a package rebuilt while a long run is under way (another `turbo build`)
    // would otherwise reload the page and destroy the run's execution context.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  let browser: Browser | undefined;
  try {
    if (!url) throw new Error('vite did not report a local URL');
    // One page serves every browser backend, so WebGPU is on whichever are asked for; the flags
    // leave WebGL on ANGLE + SwiftShader as before (the same renderer string, the same suite).
    browser = await chromium.launch({
      executablePath: await chromiumExecutable(),
      args: webgpu ? [...CHROMIUM_ARGS, ...CHROMIUM_WEBGPU_ARGS] : CHROMIUM_ARGS,
    });
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') onLog?.(`[page] ${m.text()}`);
    });
    // An error while the page loads means it will never be ready: fail now, not at the timeout.
    const loadError = new Promise<never>((_, reject) =>
      page.on('pageerror', (e) => {
        onLog?.(`[page error] ${e.message}`);
        reject(new Error(`the demo page failed to load: ${e.message}`));
      }),
    );
    loadError.catch(() => {}); // errors after start-up are only logged
    // autorun=0: the CLI drives the page; a run started on load would compete with it.
    await page.goto(`${url}?autorun=0`);
    await Promise.race([
      page.waitForFunction(() => window.maskedOpsDemo?.ready === true, null, { timeout: 120_000 }),
      loadError,
    ]);
    const opened = browser;
    return {
      page,
      url,
      call: (name, ...args) =>
        page.evaluate(
          ([n, a]) =>
            (window.maskedOpsDemo as unknown as Record<string, (...x: unknown[]) => unknown>)[n]!(
              ...a,
            ),
          [name, args] as [string, unknown[]],
        ) as never,
      close: async () => {
        await opened.close();
        await server.close();
      },
    };
  } catch (err) {
    await browser?.close();
    await server.close();
    throw err;
  }
}
