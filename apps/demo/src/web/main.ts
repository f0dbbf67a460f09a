import type { BenchRow } from '../bench.js';
import {
  buildMatrix,
  type CaseResult,
  type KernelPath,
  type MatrixSpec,
  matrixRuns,
} from '../matrix.js';
import { matrixOpsOf, OP_ROWS, parseOps } from '../ops.js';
import { matrixFailures, opBenchMarkdown, opMatrixMarkdown } from '../report.js';
import { parseShapes, parseSoftmaxShapes, shapeLabel, softmaxLabel } from '../shapes.js';
import { demoApi, exposeDemo } from './api.js';
import { runDeepFMSection, setupDeepFMSection } from './deepfm.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Timing settings of the page: a preview, like `pnpm demo`'s speed table. */
const PAGE_BENCH = { reps: 3, warmup: 3, budgetMs: 300 };

/** Renders a markdown table (as report.ts writes it) as an HTML table with PASS/FAIL classes. */
function htmlTable(markdown: string): string {
  // The table's lines alone (a bench table may be followed by notes), without the --- line.
  const rows = markdown
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .filter((_, i) => i !== 1);
  return `<table>${rows
    .map((r, i) => {
      const cells = r.slice(2, -2).split(' | ');
      const tag = i === 0 ? 'th' : 'td';
      return `<tr>${cells.map((c) => `<${tag} class="${c.split(' ')[0]}">${c}</${tag}>`).join('')}</tr>`;
    })
    .join('')}</table>`;
}

/** Markdown sections: one heading and one table per op. */
const sections = (ops: string[], tableOf: (op: string) => string): string =>
  ops.map((op) => `<h3>${op}</h3>${htmlTable(tableOf(op))}`).join('');

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLORS = { fused: '#2e7d32', composite: '#c62828', unmasked: '#1565c0' } as const;
const PASS_LABEL = { forward: 'forward', backward: 'fwd+bwd (one tf.grad)' } as const;

const msText = (ms: number): string =>
  ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;

/**
 * Median ms per call on one log axis shared by every bar: the fused op, the composite and the
 * unmasked op span 0.1 ms to seconds, and on a linear axis every wasm bar was invisible. Each
 * decade is a gridline; each bar is labelled with its time and its number of timed runs.
 */
function drawChart(rows: BenchRow[]): void {
  const svg = $<HTMLElement>('chart');
  // Op by op (the rows arrive backend by backend), so that each op's bars sit together.
  const opOrder = [...new Set(rows.map((r) => r.op))];
  rows = [...rows].sort((a, b) => opOrder.indexOf(a.op) - opOrder.indexOf(b.op));
  const all = rows.flatMap((r) => [r.fusedMs, r.compositeMs, r.unmaskedMs]).filter((v) => v > 0);
  if (all.length === 0) return;
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const left = 330;
  const width = 470;
  const xOf = (ms: number) =>
    left + (width * Math.log10(Math.max(ms, lo) / lo)) / Math.log10(hi / lo || 10);
  const barH = 11;
  const parts: string[] = [
    '<title>Median milliseconds per call, log scale: fused op, composite, tfjs unmasked op</title>',
  ];
  const legend = (Object.keys(COLORS) as (keyof typeof COLORS)[])
    .map((k, i) => {
      const x = left + i * 160;
      const name = {
        fused: 'fused masked op',
        composite: 'composite (today)',
        unmasked: 'tfjs unmasked op',
      }[k];
      return `<rect x="${x}" y="2" width="12" height="12" fill="${COLORS[k]}"/><text x="${x + 16}" y="12" class="bar-label">${name}</text>`;
    })
    .join('');
  parts.push(legend);
  let y = 44;
  const body: string[] = [];
  let lastOp = '';
  for (const r of rows) {
    if (r.op !== lastOp) {
      body.push(`<text x="0" y="${y + 12}" class="chart-op">${r.op}</text>`);
      y += 18;
      lastOp = r.op;
    }
    body.push(
      `<text x="8" y="${y + 11}" class="bar-label">${escapeXml(`${r.backend} ${r.shape}`)}</text>`,
      `<text x="8" y="${y + 24}" class="bar-label pass">${PASS_LABEL[r.pass]}</text>`,
    );
    for (const [name, ms, runs, label] of [
      ['fused', r.fusedMs, r.reps.fused, r.op],
      ['composite', r.compositeMs, r.reps.composite, 'composite'],
      ['unmasked', r.unmaskedMs, r.reps.unmasked, r.unmasked],
    ] as [keyof typeof COLORS, number, number, string][]) {
      const w = Math.max(1, xOf(ms) - left);
      body.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${COLORS[name]}"><title>${escapeXml(label)}: ${msText(ms)}, median of ${runs} run(s)</title></rect>`,
        `<text x="${left + w + 4}" y="${y + 9}" class="bar-value">${msText(ms)}${runs > 1 ? '' : ' (1 run)'}</text>`,
      );
      y += barH;
    }
    y += 7;
  }
  // Decade gridlines and their labels, at the top (under the legend) and the bottom.
  const ticks: string[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) {
    const x = xOf(t).toFixed(1);
    const label = t >= 1000 ? `${t / 1000} s` : `${t >= 1 ? t : t.toPrecision(1)} ms`;
    ticks.push(
      `<line x1="${x}" y1="36" x2="${x}" y2="${y}" class="grid"/>`,
      `<text x="${x}" y="32" class="tick">${label}</text>`,
      `<text x="${x}" y="${y + 14}" class="tick">${label}</text>`,
    );
  }
  parts.push(...ticks, ...body);
  parts.push(
    `<text x="${left}" y="${y + 30}" class="bar-label">median milliseconds per call, log scale (each gridline is 10x the one to its left); shorter is faster</text>`,
  );
  svg.setAttribute('height', String(y + 40));
  svg.innerHTML = parts.join('');
  svg.dataset['bars'] = String(rows.length * 3);
}

/** The progress panel: one row per backend (cases, then timings) and an overall bar. */
class Progress {
  private readonly fractions = new Map<string, { cases: number; timings: number }>();
  constructor(private readonly backends: string[]) {
    $<HTMLElement>('backend-progress').innerHTML =
      '<tr><th>backend</th><th>cases (forward + tf.grad, each checked)</th><th>timings (op x shape x pass)</th></tr>' +
      backends
        .map(
          (b) =>
            `<tr><td>${b}</td><td><progress id="cases-${b}" max="1" value="0"></progress> <span id="cases-text-${b}">waiting</span></td>` +
            `<td><progress id="timings-${b}" max="1" value="0"></progress> <span id="timings-text-${b}">waiting</span></td></tr>`,
        )
        .join('');
    for (const b of backends) this.fractions.set(b, { cases: 0, timings: 0 });
    this.overall();
  }
  cases(b: string, done: number, total: number): void {
    this.fractions.get(b)!.cases = total ? done / total : 1;
    $<HTMLProgressElement>(`cases-${b}`).value = total ? done / total : 1;
    $<HTMLElement>(`cases-text-${b}`).textContent = `${done} / ${total}`;
    this.overall();
  }
  timings(b: string, done: number, total: number, step: string): void {
    this.fractions.get(b)!.timings = total ? done / total : 1;
    $<HTMLProgressElement>(`timings-${b}`).value = total ? done / total : 1;
    $<HTMLElement>(`timings-text-${b}`).textContent =
      done === total ? `${done} / ${total}` : `${done} / ${total}: ${step}`;
    this.overall();
  }
  /** Timing takes about three times as long as the cases on this page's defaults. */
  private overall(): void {
    let sum = 0;
    for (const f of this.fractions.values()) sum += (f.cases + 3 * f.timings) / 4;
    const pct = this.backends.length ? Math.round((100 * sum) / this.backends.length) : 0;
    const bar = $<HTMLProgressElement>('progress');
    bar.value = pct;
    bar.dataset['percent'] = String(pct);
    $<HTMLElement>('progress-text').textContent = `${pct}%`;
  }
}

/** One run at a time (the matrix, or DeepFM): both switch tfjs's global backend. */
function setBusy(busy: boolean): void {
  $<HTMLButtonElement>('run').disabled = busy;
  $<HTMLButtonElement>('deepfm-run').disabled = busy;
}

async function run(): Promise<void> {
  const status = $<HTMLElement>('status');
  setBusy(true);
  delete status.dataset['state'];
  const started = performance.now();
  try {
    const spec: MatrixSpec = {
      shapes: parseShapes($<HTMLInputElement>('shapes').value),
      density: Number($<HTMLInputElement>('density').value),
      seed: Number($<HTMLInputElement>('seed').value),
      conformance: $<HTMLInputElement>('conformance').checked,
      // The page times the reductions and softmaxes; its DeepFM section trains on the bag.
      ops: matrixOpsOf(parseOps($<HTMLSelectElement>('op').value)),
    };
    if (!(spec.density >= 0 && spec.density <= 1))
      throw new Error('mask density must be in [0, 1]');
    if (!Number.isInteger(spec.seed) || spec.seed < 0) {
      throw new Error('seed must be a non-negative integer');
    }
    const benchShapes = parseShapes($<HTMLInputElement>('benchShape').value).slice(0, 1);
    const softmaxShapes = parseSoftmaxShapes($<HTMLInputElement>('softmaxShape').value).slice(0, 1);
    $<HTMLElement>('matrix').innerHTML = '';
    $<HTMLElement>('speed').innerHTML = '';
    $<HTMLElement>('chart').innerHTML = '';
    status.textContent = 'starting the backends...';
    const env = await demoApi.environment();
    $<HTMLElement>('env').textContent =
      `${env.userAgent} | GL: ${env.glRenderer} (WebGL ${env.webglVersion}) | tfjs wasm build: ${env.wasmBuild} | WebGPU: ${env.webgpuAdapter}`;
    const backends = await demoApi.backends();
    const progress = new Progress(backends);
    const results: Record<string, CaseResult[]> = {};
    const kernels: Record<string, Record<string, KernelPath>> = {};
    for (const b of backends) {
      status.textContent = `checking ${spec.ops.join(', ')} on ${b}...`;
      const run = await demoApi.runMatrix(b, spec, (done, total) => progress.cases(b, done, total));
      results[b] = run.results;
      kernels[b] = run.kernels;
    }
    const matrix = buildMatrix(matrixRuns(spec), results, undefined, kernels);
    // One section per output (maskedMoments.mean, maskedMoments.variance).
    $<HTMLElement>('matrix').innerHTML = sections(
      matrix.ops.map((o) => o.label),
      (label) => opMatrixMarkdown(matrix, matrix.ops.find((o) => o.label === label)!),
    );
    const rows: BenchRow[] = [];
    for (const b of backends) {
      status.textContent = `timing ${spec.ops.join(', ')} on ${b} at ${[...benchShapes.map(shapeLabel), ...softmaxShapes.map(softmaxLabel)].join('; ')}...`;
      rows.push(
        ...(await demoApi.bench(
          b,
          {
            shapes: benchShapes,
            softmaxShapes,
            ops: spec.ops,
            density: spec.density,
            seed: spec.seed,
            ...PAGE_BENCH,
            backward: true,
          },
          (done, total, step) => progress.timings(b, done, total, step),
        )),
      );
      const ops = [...new Set(rows.map((r) => r.op))];
      $<HTMLElement>('speed').innerHTML = sections(ops, (op) => opBenchMarkdown(rows, op));
      drawChart(rows);
    }
    const failed = matrixFailures(matrix).length > 0;
    const cases = [...new Set(matrix.ops.map((o) => `${o.op} ${o.cases}`))].join(', ');
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    status.textContent = `done in ${seconds} s: ${cases} cases on ${backends.join(', ')}: ${failed ? 'FAIL' : 'all PASS'}`;
    status.dataset['state'] = failed ? 'fail' : 'pass';
  } catch (err) {
    status.textContent = `error: ${(err as Error).message}`;
    status.dataset['state'] = 'error';
  } finally {
    setBusy(false);
  }
}

/** Settings from the address (?op=max&shapes=...&bench=...&autorun=0), so a run can be linked. */
function applyQuery(params: URLSearchParams): void {
  const fields: [string, string][] = [
    ['op', 'op'],
    ['shapes', 'shapes'],
    ['density', 'density'],
    ['seed', 'seed'],
    ['bench', 'benchShape'],
    ['softmax', 'softmaxShape'],
  ];
  for (const [param, id] of fields) {
    const v = params.get(param);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
  const conformance = params.get('conformance');
  if (conformance !== null) $<HTMLInputElement>('conformance').checked = conformance !== '0';
}

/** The op picker: "all", then every row of core's tables (so a new row shows up by itself). */
function fillOpPicker(): void {
  const picker = $<HTMLSelectElement>('op');
  for (const row of OP_ROWS) picker.add(new Option(row.op, row.id));
}

exposeDemo();
fillOpPicker();
const query = new URLSearchParams(location.search);
applyQuery(query);
$<HTMLFormElement>('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});
// The page runs the matrix on load; the CLI, which drives the page itself, opens it with
// ?autorun=0; ?deepfm=webgl trains DeepFM on load instead.
const idle = () => {
  $<HTMLElement>('status').textContent = 'ready: Run starts the matrix';
};
if (setupDeepFMSection(query, setBusy)) {
  idle();
  void runDeepFMSection(setBusy);
} else if (query.get('autorun') !== '0') void run();
else {
  idle();
  setBusy(false);
}
