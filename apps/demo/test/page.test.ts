// Drives the built demo page in headless Chromium: runs the matrix on every backend the page has,
// checks that no cell FAILs, and saves a screenshot under test-results/.
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
  it('runs the matrix on cpu, wasm and webgl with every cell PASS', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.resolvedUrls!.local[0]!);
    await page.waitForFunction(() => window.maskedOpsDemo?.ready === true);
    expect(await page.evaluate(() => typeof window.maskedOps?.core.maskedMean)).toBe('function');

    await page.fill('#shapes', '16x20x8, 4x300x4');
    await page.fill('#benchShape', '64x50x16');
    await page.click('#run');
    await page.waitForSelector('#status[data-state]', { timeout: 540_000 });

    const outDir = join(root, 'test-results');
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'demo-page.png'), fullPage: true });

    expect(await page.textContent('#status')).toContain('all PASS');
    expect(await page.getAttribute('#status', 'data-state')).toBe('pass');
    const header = await page.$$eval('#matrix th', (ths) => ths.map((th) => th.textContent));
    expect(header).toEqual(['backend', 'vs float64 reference', 'cpu', 'wasm', 'webgl']);
    expect(await page.$$eval('#matrix td.FAIL', (tds) => tds.length)).toBe(0);
    // 3 backends: 3 reference cells + 6 pair cells.
    expect(await page.$$eval('#matrix td.PASS', (tds) => tds.length)).toBe(9);
    expect(await page.$$eval('#speed td', (tds) => tds.length)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
