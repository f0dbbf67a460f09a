// Drives the built demo page in headless Chromium: runs the matrix of every op on every backend the
// page has, checks that no cell FAILs, and saves a screenshot under test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../tooling/chromium.mjs';

const root = join(import.meta.dirname, '..');
const configFile = join(root, 'vite.config.ts');
let server: PreviewServer;
let browser: Browser;

beforeAll(async () => {
  await build({ root, configFile, logLevel: 'warn' });
  server = await preview({ root, configFile, preview: { port: 0, host: '127.0.0.1' } });
  browser = await chromium.launch({
    executablePath: await chromiumExecutable(),
    args: CHROMIUM_ARGS,
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('demo page (production build)', () => {
  it('runs the matrix of every op on cpu, wasm and webgl with every cell PASS', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.resolvedUrls!.local[0]!);
    await page.waitForFunction(() => window.maskedOpsDemo?.ready === true);
    expect(await page.evaluate(() => typeof window.maskedOps?.core.maskedMean)).toBe('function');
    const ops = ['maskedSum', 'maskedMean', 'maskedMax', 'maskedMin'];
    expect(await page.$$eval('#op option', (os) => os.map((o) => o.textContent))).toEqual([
      'all',
      ...ops,
    ]);

    await page.selectOption('#op', 'all');
    await page.fill('#shapes', '16x20x8, 4x300x4, 6x9:all');
    await page.fill('#benchShape', '64x50x16');
    await page.click('#run');
    await page.waitForSelector('#status[data-state]', { timeout: 540_000 });

    const outDir = join(root, 'test-results');
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'demo-page.png'), fullPage: true });

    expect(await page.textContent('#status')).toContain('all PASS');
    expect(await page.getAttribute('#status', 'data-state')).toBe('pass');
    // One section per op, each a matrix of the three backends.
    expect(await page.$$eval('#matrix h3', (hs) => hs.map((h) => h.textContent))).toEqual(ops);
    const headers = await page.$$eval('#matrix table', (tables) =>
      tables.map((t) => Array.from(t.querySelectorAll('th'), (th) => th.textContent)),
    );
    expect(headers).toEqual(
      ops.map(() => ['backend', 'kernels', 'vs float64 reference', 'cpu', 'wasm', 'webgl']),
    );
    expect(await page.$$eval('#matrix td.FAIL', (tds) => tds.length)).toBe(0);
    // Per op, 3 backends: 3 reference cells + 6 pair cells.
    expect(await page.$$eval('#matrix td.PASS', (tds) => tds.length)).toBe(9 * ops.length);
    // The speed tables follow the same ops: one row per backend.
    expect(await page.$$eval('#speed h3', (hs) => hs.map((h) => h.textContent))).toEqual(ops);
    expect(await page.$$eval('#speed tr', (trs) => trs.length)).toBe(ops.length * 4);
    // Every plugin loaded (the page would otherwise fall back to core's composites quietly).
    const env = await page.evaluate(() => window.maskedOpsDemo!.environment());
    expect(env.pluginErrors).toEqual({});
    expect(errors).toEqual([]);
  });
});
