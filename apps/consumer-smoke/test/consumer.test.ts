// Installs every @masked-ops package the way a user does, from its packed tarball (not the
// workspace links), next to the tfjs packages, in a fresh project outside the monorepo; then runs
// it the ways people load tfjs: Node ESM, CommonJS `require`, Jest (no transforms), TypeScript
// compiled to CommonJS, both module forms in one process, and a Vite production build on webgl,
// wasm and webgpu in Chromium. A second fresh project installs two tfjs copies side by side (the umbrella
// @tensorflow/tfjs 4.21.0 beside tfjs-core 4.22.0) and checks what users then see. The two npm
// installs run at the same time; they are most of this file's time.
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  CHROMIUM_WEBGPU_ARGS,
  chromiumExecutable,
} from '../../../tooling/chromium.mjs';

const repo = join(import.meta.dirname, '..', '..', '..');
const PACKAGES = [
  'core',
  'backend-cpu',
  'backend-wasm',
  'backend-webgl',
  'backend-webgpu',
  'layers',
];
const TFJS = '4.22.0';
const work = mkdtempSync(join(tmpdir(), 'masked-ops-consumer-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
/** The second project: two copies of tfjs-core and tfjs-layers. */
const twoCopies = join(work, 'two-copies');
/** Jest 29 runs on Node 20 (30 wants 18.14+ too, but 29 is what most projects pin). */
const JEST = '29.7.0';
/** The repo's own TypeScript compiles the TypeScript consumer (no registry install needed). */
const tsc = join(repo, 'node_modules', '.bin', 'tsc');
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

/** A script's last stdout line, parsed: every fixture script ends by printing its JSON result. */
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

const npmInstall = (cwd: string) =>
  promisify(execFile)('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
  });

/** Every installed copy of a package anywhere in a project's node_modules tree. */
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

beforeAll(async () => {
  const started = performance.now();
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
  for (const t of [
    'core',
    'backend-cpu',
    'backend-wasm',
    'backend-webgl',
    'backend-webgpu',
    'layers',
  ]) {
    deps[`@tensorflow/tfjs-${t}`] = TFJS;
  }
  deps['vite'] = '8.3.8';
  deps['jest'] = JEST;
  // What a TypeScript Node project has (the consumer calls require.resolve and process.exit).
  deps['@types/node'] = '^20.19.0';
  const fixture = join(import.meta.dirname, '..', 'fixture');
  cpSync(fixture, app, { recursive: true, filter: (src) => !src.includes('two-copies') });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      { name: 'consumer', private: true, type: 'module', dependencies: deps },
      null,
      2,
    ),
  );
  // No @tensorflow/tfjs-layers here on purpose: npm installs it for @masked-ops/layers' peer
  // dependency, at the newest 4.x, while the umbrella keeps its 4.21.0 copies nested.
  const twoDeps: Record<string, string> = {
    '@tensorflow/tfjs': '4.21.0',
    '@tensorflow/tfjs-core': '4.22.0',
  };
  for (const name of ['core', 'backend-cpu', 'layers']) {
    twoDeps[`@masked-ops/${name}`] = `file:${packed[name]!.file}`;
  }
  cpSync(join(fixture, 'two-copies'), twoCopies, { recursive: true });
  writeFileSync(
    join(twoCopies, 'package.json'),
    JSON.stringify(
      { name: 'two-copies', private: true, type: 'module', dependencies: twoDeps },
      null,
      2,
    ),
  );
  const packedAt = performance.now();
  await Promise.all([npmInstall(app), npmInstall(twoCopies)]);
  const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
  console.log(
    `packed in ${seconds(started, packedAt)} s, both npm installs in ${seconds(packedAt, performance.now())} s`,
  );
});

// The two projects take about 600 MB; KEEP_CONSUMER_SMOKE=1 keeps them for a look.
afterAll(() => {
  if (process.env['KEEP_CONSUMER_SMOKE']) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

describe('packages installed from their tarballs', () => {
  it('ship both builds (ESM and CommonJS), types, README and LICENSE, no stale files, no workspace: ranges', () => {
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
        'package/dist/cjs/index.js',
        'package/dist/cjs/index.d.ts',
        'package/dist/cjs/package.json',
      ]) {
        expect(files, `${name} lacks ${f}`).toContain(f);
      }
      // Each build holds exactly one module per source file: a module whose source is gone (a
      // stale file from an earlier build) or a module missing from one build fails here.
      const modules = (prefix: string, ext: RegExp) =>
        files
          .filter(
            (f) =>
              f.startsWith(prefix) && ext.test(f) && !f.slice(prefix.length).startsWith('cjs/'),
          )
          .map((f) => f.slice(prefix.length).replace(ext, ''))
          .sort();
      const sources = modules('package/src/', /\.ts$/);
      expect(modules('package/dist/', /\.js$/), `${name}: dist/ vs src/`).toEqual(sources);
      expect(modules('package/dist/cjs/', /\.js$/), `${name}: dist/cjs/ vs src/`).toEqual(sources);
      const cjsManifest = readFileSync(
        join(app, 'node_modules', '@masked-ops', name, 'dist', 'cjs', 'package.json'),
        'utf8',
      );
      expect(JSON.parse(cjsManifest)).toEqual({ type: 'commonjs' });
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

  it('run fused on cpu and wasm from a CommonJS app (require), layers included', () => {
    const out = lastJson(run(process.execPath, ['cjs/node-check.js'], app));
    for (const backend of ['cpu', 'wasm']) {
      expect(out[backend]).toEqual({ values: [15, 15], fused: true });
    }
    expect(out.layer).toEqual([2, 2]);
    // Node >= 20.19 could require() the ESM build too; this proves the CommonJS build answered.
    for (const file of Object.values(out.resolved)) {
      expect(file).toMatch(/[\\/]dist[\\/]cjs[\\/]index\.js$/);
    }
  });

  it('pass a Jest test (node environment, no transforms) that requires them', () => {
    const report = join(work, 'jest-report.json');
    let failure = '';
    try {
      run(
        join(app, 'node_modules', '.bin', 'jest'),
        ['--ci', '--json', `--outputFile=${report}`],
        join(app, 'cjs'),
      );
    } catch (e) {
      failure = String((e as { stderr?: string }).stderr ?? e);
    }
    expect(failure).toBe('');
    const r = JSON.parse(readFileSync(report, 'utf8'));
    expect({
      passed: r.numPassedTests,
      failed: r.numFailedTests,
      pending: r.numPendingTests,
    }).toEqual({
      passed: 4,
      failed: 0,
      pending: 0,
    });
  });

  it('compile as TypeScript with module commonjs (node10) and node16, and run', () => {
    // tsc exits non-zero (and execFileSync throws with its diagnostics) on any type error,
    // including the `const y: tf.Tensor2D = maskedMean(x3d, m, 1)` of issue 11.
    const compile = (config: string) => {
      try {
        run(tsc, ['-p', join('ts', config)], app);
      } catch (e) {
        throw new Error(`tsc -p ts/${config}: ${(e as { stdout?: string }).stdout ?? e}`);
      }
    };
    compile('tsconfig.json');
    compile('tsconfig.node16.json');
    const out = lastJson(run(process.execPath, ['ts/build/consumer.js'], app));
    expect(out).toMatchObject({
      shape: [1, 2],
      values: [15, 15],
      max: [20, 20],
      fused: true,
      wrong: 'object',
    });
    expect(out.resolved).toMatch(/[\\/]dist[\\/]cjs[\\/]index\.js$/);
  });

  it('keep working when one process loads both forms (kernels re-registered, tfjs warns)', () => {
    const out = lastJson(run(process.execPath, ['both-forms.mjs'], app));
    expect(out.twoModules).toBe(true);
    expect(out.esm).toEqual({ values: [15, 15], fused: true });
    expect(out.cjs).toEqual({ values: [15, 15], fused: true });
    expect(out.warnings.join('\n')).toMatch(/already registered|Overriding the gradient/);
  });

  describe('beside a second copy of tfjs (@tensorflow/tfjs 4.21.0 + tfjs-core 4.22.0)', () => {
    let out: {
      umbrellaCore: string;
      layers: string;
      op: { values?: number[]; fused?: boolean; error?: string };
      layer: { built?: boolean; error?: string };
      fixed: number[] | { error: string };
    };
    beforeAll(() => {
      out = lastJson(run(process.execPath, ['check.mjs'], twoCopies));
    });

    it('installs two copies of tfjs-core and of tfjs-layers', () => {
      const versions = (name: string) =>
        copiesOf(name, join(twoCopies, 'node_modules'))
          .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version)
          .sort();
      expect(versions('@tensorflow/tfjs-core')).toEqual(['4.21.0', '4.22.0']);
      expect(versions('@tensorflow/tfjs-layers')).toEqual(['4.21.0', '4.22.0']);
      expect(out.umbrellaCore).toBe('4.21.0');
      expect(out.layers).toBe('4.22.0');
    });

    it("computes maskedMean of the other copy's tensors correctly (tfjs-core copies share one engine)", () => {
      // Copies of tfjs-core share the engine, kernel and gradient registries through a global,
      // and tfjs's `instanceof Tensor` is duck-typed, so the other copy's tensor is a usable
      // tensor here: the fused kernel runs and the value is right. Core's "another copy" error
      // is for values that only look like tensors; a real second copy never reaches it.
      expect(out.op).toEqual({ values: [15, 15], fused: true });
    });

    it('makes GlobalAveragePooling1D say what is wrong and how to fix it', () => {
      expect(out.layer.error).toMatch(
        /GlobalAveragePooling1D.*SymbolicTensor.*two copies of @tensorflow\/tfjs-layers.*npm ls @tensorflow\/tfjs-layers @tensorflow\/tfjs-core/,
      );
      expect(out.layer.error).not.toMatch(/passed to 'mean' must be a Tensor/);
      // The fix it names (one tfjs-layers copy) works: the same model built with the copy
      // @masked-ops/layers uses gives Keras's masked mean.
      expect(out.fixed).toEqual([2, 2]);
    });
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

    it('runs fused on webgl, wasm and webgpu, loading the .wasm files from the bundle', async () => {
      expect(readdirSync(join(app, 'dist', 'assets')).some((f) => f.endsWith('.wasm'))).toBe(true);
      const browser = await chromium.launch({
        executablePath: await chromiumExecutable(),
        // WebGPU on SwiftShader (a missing adapter fails the check: the page throws).
        args: [...CHROMIUM_ARGS, ...CHROMIUM_WEBGPU_ARGS],
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
          webgpu: { values: [15, 15], fused: true },
        });
      } finally {
        await browser.close();
      }
    });
  });
});
