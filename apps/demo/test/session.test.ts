// The CLI's browser half on chromium:webgpu (runSession, as `pnpm demo` and `pnpm bench` call it):
// the page in headless Chromium with WebGPU on SwiftShader runs the fused WGSL kernels of every
// reduction, passes the matrix and times them; a page without an adapter fails chromium:webgpu,
// naming why, while the other backends still run. A missing adapter is a failure, never a skip.
import { describe, expect, it } from 'vitest';
import { buildMatrix, type MatrixSpec, matrixRuns } from '../src/matrix.js';
import { openDemoPage } from '../src/node/browser.js';
import { runSession } from '../src/node/run.js';
import { ALL_OPS, ALL_REDUCERS, isSoftmax } from '../src/ops.js';
import type { Environment } from '../src/report.js';
import { matrixFailures } from '../src/report.js';
import { parseBagShapes, parseShapes, parseSoftmaxShapes } from '../src/shapes.js';

const SOFTMAXES = ALL_OPS.filter(isSoftmax);
const env = (): Environment => ({ date: new Date().toISOString(), notes: [] });

describe('runSession on chromium:webgpu', () => {
  it("runs every reduction's fused kernels on the SwiftShader adapter: every cell PASS, timed", async () => {
    const spec: MatrixSpec = {
      shapes: parseShapes('16x20x8,6x9:all'),
      density: 0.5,
      seed: 3,
      conformance: false,
      ops: [...ALL_REDUCERS, ...SOFTMAXES],
    };
    const e = env();
    const session = await runSession(['chromium:webgpu'], e, spec, {
      shapes: parseShapes('32x40x8'),
      softmaxShapes: parseSoftmaxShapes('2x4x16x16:2x1x1x16'),
      bagShapes: parseBagShapes('8x6:50x4'),
      ops: ['sum', 'moments', 'softmax', 'embeddingBag'],
      density: 0.5,
      seed: 3,
      reps: 1,
      warmup: 1,
      budgetMs: 0,
      backward: true,
    });
    expect(session.unavailable).toEqual({});
    expect(e.webgpuAdapter).toBeDefined();
    expect(e.webgpuAdapter).not.toMatch(/^unavailable/);
    // Every plugin loaded in the page (no "composite because the plugin failed" note).
    expect(e.notes).toEqual([]);
    const matrix = buildMatrix(matrixRuns(spec), session.results, undefined, session.kernels);
    expect(matrix.backends).toEqual(['chromium:webgpu']);
    expect(matrixFailures(matrix)).toEqual([]);
    // backend-webgpu registers both kernels of every row of core's reduction table; the
    // softmaxes report whichever path ran (their webgpu kernels may not exist yet).
    const kernels = session.kernels['chromium:webgpu']!;
    for (const r of ALL_REDUCERS) expect(kernels[r], r).toBe('fused');
    for (const s of SOFTMAXES) expect(kernels[s]).toMatch(/^(fused|composite)/);
    // Bench rows: sum, moments, softmax and the bag, forward and fwd+bwd, every variant timed.
    expect(session.bench.map((r) => `${r.op} ${r.pass}`)).toEqual(
      ['maskedSum', 'maskedMoments', 'maskedSoftmax', 'embeddingBag'].flatMap((op) => [
        `${op} forward`,
        `${op} backward`,
      ]),
    );
    for (const r of session.bench) {
      expect(r.backend).toBe('chromium:webgpu');
      expect(r.skipped, `${r.op} ${r.pass}`).toBeUndefined();
      for (const ms of [r.fusedMs, r.compositeMs, r.unmaskedMs]) expect(ms).toBeGreaterThan(0);
    }
    for (const r of session.bench.filter((b) => b.reducer === 'sum' || b.reducer === 'moments')) {
      expect(r.kernel).toBe('fused');
    }
  });

  it('fails chromium:webgpu in a page without an adapter, saying why; the others still run', async () => {
    const spec: MatrixSpec = {
      shapes: parseShapes('4x5x3'),
      density: 0.5,
      seed: 1,
      conformance: false,
      ops: ['mean'],
    };
    const e = env();
    const session = await runSession(
      ['chromium:cpu', 'chromium:webgpu'],
      e,
      spec,
      null,
      // Headless Chromium without --enable-unsafe-webgpu has no adapter.
      (log) => openDemoPage(log, { webgpu: false }),
    );
    expect(Object.keys(session.unavailable)).toEqual(['chromium:webgpu']);
    expect(session.unavailable['chromium:webgpu']).toMatch(
      /^not run: tfjs could not initialise webgpu in this browser \(WebGPU adapter: unavailable: /,
    );
    expect(e.webgpuAdapter).toMatch(/^unavailable: /);
    expect(Object.keys(session.results)).toEqual(['chromium:cpu']);
    const matrix = buildMatrix(matrixRuns(spec), session.results, undefined, session.kernels);
    expect(matrixFailures(matrix)).toEqual([]);
  });
});
