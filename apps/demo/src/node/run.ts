import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchOptions, BenchRow } from '../bench.js';
import {
  copyBandwidthGBps,
  DEFAULT_BAG_SHAPES,
  DEFAULT_SOFTMAX_SHAPES,
  runBench,
} from '../bench.js';
import type { BackendRun, CaseResult, KernelPath, MatrixSpec } from '../matrix.js';
import { matrixRuns, runMatrix } from '../matrix.js';
import { BAG, reducersOf, softmaxesOf } from '../ops.js';
import type { Environment } from '../report.js';
import { decodeRun } from '../transfer.js';
import { useNodeBackend } from './backends.js';
import { type DemoPage, openDemoPage } from './browser.js';

/** Prints progress with the time since start, so a long browser run shows it is alive. */
const started = performance.now();
export const log = (line: string): void => {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${s}s] ${line}`);
};

export function nodeEnvironment(): Environment {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    os: `${type()} ${release()} ${process.arch}`,
    cpus: `${cpu.length} x ${cpu[0]?.model ?? 'unknown'}`,
    notes: [],
  };
}

export interface Session {
  results: Record<string, CaseResult[]>;
  /** backend -> reducer -> which code ran. */
  kernels: Record<string, Record<string, KernelPath>>;
  bench: BenchRow[];
  copyGBps: Record<string, number>;
  /** Wall-clock seconds per runtime (its cases and its timings) and for the browser's start-up. */
  seconds: Record<string, number>;
  /**
   * Requested backends that could not run, and why (e.g. chromium:webgpu without an adapter):
   * failures of the run, never skips; the other backends still run.
   */
  unavailable: Record<string, string>;
}

/**
 * Runs the matrix cases (when `spec` is given) and the benchmarks on every requested backend:
 * Node backends in this process, browser backends in one headless Chromium page. A browser
 * backend the page cannot initialise goes to `unavailable` (the CLIs fail on it) and the others
 * still run.
 */
export async function runSession(
  backends: string[],
  env: Environment,
  spec: MatrixSpec | null,
  bench: Omit<BenchOptions, 'onProgress'> | null,
  /** Opens the page of the browser backends (a test opens one without WebGPU). */
  openPage: (onLog: (line: string) => void) => Promise<DemoPage> = openDemoPage,
): Promise<Session> {
  const session: Session = {
    results: {},
    kernels: {},
    bench: [],
    copyGBps: {},
    seconds: {},
    unavailable: {},
  };
  const runs = spec ? matrixRuns(spec).length : 0;
  const pluginFailed = (name: string, message: string) => {
    log(`WARNING: the ${name} plugin failed to load (${message}); its ops run core's composite`);
    env.notes?.push(`${name}: the plugin failed to load, ops ran core's composite: ${message}`);
  };
  const runOne = async (
    name: string,
    matrixHere: () => Promise<BackendRun>,
    benchHere: () => Promise<BenchRow[]>,
  ) => {
    const began = performance.now();
    if (spec) {
      log(`${name}: ${runs} (op, case) runs of ${spec.ops.join(', ')}, forward + gradient...`);
      const t = performance.now();
      const run = await matrixHere();
      session.results[name] = run.results;
      session.kernels[name] = run.kernels;
      log(
        `${name}: cases done in ${((performance.now() - t) / 1000).toFixed(1)} s; kernels: ${Object.entries(
          run.kernels,
        )
          .map(([r, k]) => `${r} ${k}`)
          .join(', ')}`,
      );
    }
    if (bench) {
      const reducers = reducersOf(bench.ops);
      const softmaxes = softmaxesOf(bench.ops);
      const softmaxShapes = (bench.softmaxShapes ?? DEFAULT_SOFTMAX_SHAPES).length;
      const bags = bench.ops.includes(BAG) ? (bench.bagShapes ?? DEFAULT_BAG_SHAPES).length : 0;
      const parts = [
        ...(reducers.length ? [`${reducers.length} op(s) x ${bench.shapes.length} shape(s)`] : []),
        ...(softmaxes.length
          ? [`${softmaxes.length} softmax(es) x ${softmaxShapes} shape(s)`]
          : []),
        ...(bags ? [`${BAG} x ${bags} shape(s)`] : []),
      ];
      log(`${name}: timing ${parts.join(', ')}...`);
      const t = performance.now();
      const rows = await benchHere();
      // A variant that was not timed (bench.ts's `skipped`) has NaN ms.
      const ms = (v: number, ratio: number, digits: number) =>
        Number.isNaN(v) ? 'skipped' : `${v.toFixed(2)} ms (${ratio.toFixed(digits)}x)`;
      for (const r of rows) {
        r.backend = name;
        log(
          `${name} ${r.op} ${r.shape} ${r.pass}: fused ${Number.isNaN(r.fusedMs) ? 'skipped' : `${r.fusedMs.toFixed(2)} ms`}, ${r.composite ?? 'composite'} ${ms(r.compositeMs, r.vsComposite, 1)}, ${r.unmasked} ${ms(r.unmaskedMs, r.vsUnmasked, 2)}${r.kernel === 'fused' ? '' : ` [${r.kernel}]`}`,
        );
      }
      log(`${name}: timing done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      session.bench.push(...rows);
    }
    session.seconds[name] = (performance.now() - began) / 1000;
  };

  for (const b of backends.filter((n) => n.startsWith('node:'))) {
    const backend = b.slice('node:'.length);
    const pluginError = await useNodeBackend(backend);
    if (pluginError) pluginFailed(b, pluginError);
    await runOne(
      b,
      () => runMatrix(spec!),
      () =>
        runBench({
          ...bench!,
          // One line per step, so a long cpu run shows where it is.
          onProgress: (done, total, step) => {
            if (done < total) log(`${b}: ${done + 1}/${total} ${step}`);
          },
        }),
    );
  }
  if (bench) session.copyGBps['node'] = copyBandwidthGBps();
  const inBrowser = backends.filter((n) => n.startsWith('chromium:'));
  if (inBrowser.length) {
    log('starting headless Chromium with the demo page...');
    const opening = performance.now();
    const page = await openPage(log);
    session.seconds['chromium start-up'] = (performance.now() - opening) / 1000;
    try {
      const penv = await page.call('environment');
      env.browser = penv.userAgent;
      env.glRenderer = penv.glRenderer;
      env.webglVersion = penv.webglVersion;
      env.wasmBuild = penv.wasmBuild;
      if (inBrowser.includes('chromium:webgpu')) env.webgpuAdapter = penv.webgpuAdapter;
      for (const [backend, message] of Object.entries(penv.pluginErrors)) {
        if (inBrowser.includes(`chromium:${backend}`)) pluginFailed(`chromium:${backend}`, message);
      }
      log(
        `browser: ${penv.userAgent}; GL: ${penv.glRenderer}; tfjs wasm build: ${penv.wasmBuild}; WebGPU adapter: ${penv.webgpuAdapter}`,
      );
      const available = await page.call('backends');
      for (const b of inBrowser) {
        const backend = b.slice('chromium:'.length);
        if (!available.includes(backend)) {
          const why = `not run: tfjs could not initialise ${backend} in this browser${backend === 'webgpu' ? ` (WebGPU adapter: ${penv.webgpuAdapter})` : ''}`;
          log(`FAIL: ${b} ${why}`);
          session.unavailable[b] = why;
          continue;
        }
        await runOne(
          b,
          async () => decodeRun(await page.call('runMatrixEncoded', backend, spec!)),
          () => page.call('bench', backend, bench!),
        );
      }
      if (bench) session.copyGBps['chromium'] = await page.call('copyBandwidth');
    } finally {
      await page.close();
    }
  }
  return session;
}

export function writeReport(dir: string, name: string, json: unknown, markdown: string): string[] {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const files = [join(out, `${name}.json`), join(out, `${name}.md`)];
  writeFileSync(files[0]!, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(files[1]!, markdown);
  return files;
}
