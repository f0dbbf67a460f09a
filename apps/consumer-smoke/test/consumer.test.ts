// Installs every @masked-ops package the way a user does, from its packed tarball (not the
// workspace links), next to the tfjs packages, in a fresh project outside the monorepo; then runs
// a Node ESM script on cpu and wasm and a Vite production build on webgl and wasm in Chromium.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../tooling/chromium.mjs';

const repo = join(import.meta.dirname, '..', '..', '..');
const PACKAGES = ['core', 'backend-cpu', 'backend-wasm', 'backend-webgl', 'layers'];
const TFJS = '4.22.0';
const work = mkdtempSync(join(tmpdir(), 'masked-ops-consumer-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const packed: Record<string, { file: string; bytes: number; files: string[] }> = {};

/** pnpm itself (it rewrites `workspace:` ranges when packing): the one running us, or npx's. */
function pnpm(args: string[], cwd: string): string {
  const exec = process.env['npm_execpath'];
  if (exec?.includes('pnpm')) {
    // pnpm 12 ships as a native executable; older ones as a JS entry point.
    const viaNode = /\.[cm]?js$/.test(exec);
    return execFileSync(viaNode ? process.execPath : exec, viaNode ? [exec, ...args] : args, {
      cwd,
      encoding: 'utf8',
    });
  }
  return execFileSync('npx', ['-y', 'pnpm@12.4.2', ...args], { cwd, encoding: 'utf8' });
}

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Every installed copy of a package anywhere in the app's node_modules tree. */
function copiesOf(name: string, dir = join(app, 'node_modules')): string[] {
  const found: string[] = [];
  if (!existsSync(dir)) return found;
  if (existsSync(join(dir, name, 'package.json'))) found.push(join(dir, name));
  for (const entry of readdirSync(dir)) {
    const sub = join(dir, entry);
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(sub)) {
        const nested = join(sub, scoped, 'node_modules');
        if (existsSync(nested)) found.push(...copiesOf(name, nested));
      }
    } else if (existsSync(join(sub, 'node_modules'))) {
      found.push(...copiesOf(name, join(sub, 'node_modules')));
    }
  }
  return found;
}

beforeAll(() => {
  for (const name of PACKAGES) {
    const out = pnpm(['pack', '--pack-destination', tarballs], join(repo, 'packages', name));
    const file = out
      .trim()
      .split('\n')
      .filter((l) => l.endsWith('.tgz'))
      .pop()!;
    const path = file.startsWith('/') ? file : join(tarballs, file);
    const files = run('tar', ['-tzf', path], work).trim().split('\n');
    packed[name] = { file: path, bytes: statSync(path).size, files };
  }
  const deps: Record<string, string> = {};
  for (const name of PACKAGES) deps[`@masked-ops/${name}`] = `file:${packed[name]!.file}`;
  for (const t of ['core', 'backend-cpu', 'backend-wasm', 'backend-webgl', 'layers']) {
    deps[`@tensorflow/tfjs-${t}`] = TFJS;
  }
  deps['vite'] = '8.3.8';
  cpSync(join(import.meta.dirname, '..', 'fixture'), app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      { name: 'consumer', private: true, type: 'module', dependencies: deps },
      null,
      2,
    ),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app);
});

describe('packages installed from their tarballs', () => {
  it('ship dist, types, README and LICENSE, with no workspace: ranges left', () => {
    for (const name of PACKAGES) {
      const { files, bytes } = packed[name]!;
      console.log(
        `@masked-ops/${name}: ${(bytes / 1024).toFixed(1)} KiB packed, ${files.length} files`,
      );
      for (const f of [
        'package/package.json',
        'package/README.md',
        'package/LICENSE',
        'package/dist/index.js',
        'package/dist/index.d.ts',
      ]) {
        expect(files, `${name} lacks ${f}`).toContain(f);
      }
      const manifest = readFileSync(
        join(app, 'node_modules', '@masked-ops', name, 'package.json'),
        'utf8',
      );
      expect(manifest).not.toContain('workspace:');
    }
  });

  it('share one copy of @tensorflow/tfjs-core with the app', () => {
    expect(copiesOf('@tensorflow/tfjs-core')).toHaveLength(1);
  });

  it('run fused on cpu and wasm from a Node ESM script', () => {
    const out = JSON.parse(
      run(process.execPath, ['node-check.mjs'], app).trim().split('\n').pop()!,
    );
    for (const backend of ['cpu', 'wasm']) {
      expect(out[backend]).toEqual({ values: [15, 15], fused: true });
    }
    expect(out.layer).toBe('function');
  });

  describe('a Vite production build in headless Chromium', () => {
    let server: Server;
    let url = '';
    beforeAll(async () => {
      run(join(app, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'error'], app);
      const types: Record<string, string> = {
        '.html': 'text/html',
        '.js': 'text/javascript',
        '.wasm': 'application/wasm',
      };
      server = createServer((req, res) => {
        const path = join(app, 'dist', req.url === '/' ? 'index.html' : req.url!.split('?')[0]!);
        if (!existsSync(path)) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
        res.end(readFileSync(path));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    });
    afterAll(() => server?.close());

    it('runs fused on webgl and wasm, loading the .wasm files from the bundle', async () => {
      expect(readdirSync(join(app, 'dist', 'assets')).some((f) => f.endsWith('.wasm'))).toBe(true);
      const browser = await chromium.launch({
        executablePath: await chromiumExecutable(),
        args: CHROMIUM_ARGS,
      });
      try {
        const page = await browser.newPage();
        await page.goto(url);
        await page.waitForFunction(() => (window as { smokeResult?: unknown }).smokeResult, null, {
          timeout: 120_000,
        });
        const result = await page.evaluate(() => (window as { smokeResult?: unknown }).smokeResult);
        expect(result).toEqual({
          webgl: { values: [15, 15], fused: true },
          wasm: { values: [15, 15], fused: true },
        });
      } finally {
        await browser.close();
      }
    });
  });
});
