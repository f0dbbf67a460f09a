import type { BenchRow } from '../bench.js';
import {
  buildMatrix,
  type CaseResult,
  type KernelPath,
  type MatrixSpec,
  matrixRuns,
} from '../matrix.js';
import { parseOps } from '../ops.js';
import { matrixFailures, opBenchMarkdown, opMatrixMarkdown } from '../report.js';
import { parseShapes, shapeLabel } from '../shapes.js';
import { demoApi, exposeDemo } from './api.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Renders a markdown table (as report.ts writes it) as an HTML table with PASS/FAIL classes. */
function htmlTable(markdown: string): string {
  const rows = markdown.split('\n').filter((_, i) => i !== 1);
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

function drawChart(rows: BenchRow[]): void {
  const svg = $<HTMLElement>('chart');
  const max = Math.max(...rows.flatMap((r) => [r.fusedMs, r.compositeMs, r.unmaskedMs]));
  const barH = 14;
  const parts: string[] = ['<title>Timings per op and backend: fused, composite, unmasked</title>'];
  let y = 0;
  const colors = { fused: '#2e7d32', composite: '#c62828', unmasked: '#1565c0' };
  for (const r of rows) {
    parts.push(
      `<text x="0" y="${y + 12}" class="bar-label">${r.op} ${r.backend} ${r.shape} ${r.pass}</text>`,
    );
    y += 16;
    for (const [name, ms] of [
      ['fused', r.fusedMs],
      ['composite', r.compositeMs],
      ['unmasked', r.unmaskedMs],
    ] as [keyof typeof colors, number][]) {
      const w = Math.max(1, (ms / max) * 600);
      parts.push(
        `<rect x="180" y="${y}" width="${w}" height="${barH - 2}" fill="${colors[name]}"><title>${name} ${ms.toFixed(2)} ms</title></rect>`,
        `<text x="0" y="${y + 11}" class="bar-label">  ${name === 'unmasked' ? r.unmasked : name}</text>`,
        `<text x="${186 + w}" y="${y + 11}" class="bar-label">${ms.toFixed(2)} ms</text>`,
      );
      y += barH;
    }
    y += 8;
  }
  svg.setAttribute('height', String(y));
  svg.innerHTML = parts.join('');
}

async function run(): Promise<void> {
  const status = $<HTMLElement>('status');
  const button = $<HTMLButtonElement>('run');
  button.disabled = true;
  try {
    const spec: MatrixSpec = {
      shapes: parseShapes($<HTMLInputElement>('shapes').value),
      density: Number($<HTMLInputElement>('density').value),
      seed: Number($<HTMLInputElement>('seed').value),
      conformance: $<HTMLInputElement>('conformance').checked,
      ops: parseOps($<HTMLSelectElement>('op').value),
    };
    const benchShapes = parseShapes($<HTMLInputElement>('benchShape').value).slice(0, 1);
    const env = await demoApi.environment();
    $<HTMLElement>('env').textContent =
      `${env.userAgent} | GL: ${env.glRenderer} (WebGL ${env.webglVersion}) | tfjs wasm build: ${env.wasmBuild}`;
    const backends = await demoApi.backends();
    const results: Record<string, CaseResult[]> = {};
    const kernels: Record<string, Record<string, KernelPath>> = {};
    for (const b of backends) {
      status.textContent = `running the cases of ${spec.ops.join(', ')} on ${b}...`;
      const run = await demoApi.runMatrix(b, spec);
      results[b] = run.results;
      kernels[b] = run.kernels;
    }
    const matrix = buildMatrix(matrixRuns(spec), results, undefined, kernels);
    $<HTMLElement>('matrix').innerHTML = sections(
      matrix.ops.map((o) => o.op),
      (op) => opMatrixMarkdown(matrix, matrix.ops.find((o) => o.op === op)!),
    );
    const rows: BenchRow[] = [];
    for (const shape of benchShapes) {
      for (const b of backends) {
        status.textContent = `timing ${spec.ops.join(', ')} on ${b} at ${shapeLabel(shape)}...`;
        rows.push(
          ...(await demoApi.bench(b, {
            shapes: [shape],
            ops: spec.ops,
            density: spec.density,
            seed: spec.seed,
            reps: 3,
            warmup: 3,
            budgetMs: 1000,
            backward: true,
          })),
        );
        const ops = [...new Set(rows.map((r) => r.op))];
        $<HTMLElement>('speed').innerHTML = sections(ops, (op) => opBenchMarkdown(rows, op));
        drawChart(rows);
      }
    }
    const failed = matrixFailures(matrix).length > 0;
    const cases = matrix.ops.map((o) => `${o.op} ${o.cases}`).join(', ');
    status.textContent = `done: ${cases} cases on ${backends.join(', ')}: ${failed ? 'FAIL' : 'all PASS'}`;
    status.dataset['state'] = failed ? 'fail' : 'pass';
  } catch (err) {
    status.textContent = `error: ${(err as Error).message}`;
    status.dataset['state'] = 'error';
  } finally {
    button.disabled = false;
  }
}

exposeDemo();
$<HTMLFormElement>('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});
