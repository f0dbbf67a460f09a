import { type BenchRow, shapeLabel } from '../bench.js';
import { buildMatrix, type CaseResult, type MatrixSpec, matrixCases } from '../matrix.js';
import { benchMarkdown, matrixMarkdown } from '../report.js';
import { parseShapes } from '../shapes.js';
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

function drawChart(rows: BenchRow[]): void {
  const svg = $<HTMLElement>('chart');
  const max = Math.max(...rows.flatMap((r) => [r.fusedMs, r.compositeMs, r.meanMs]));
  const barH = 14;
  const parts: string[] = ['<title>Timings per backend: fused, composite, tf.mean</title>'];
  let y = 0;
  const colors = { fused: '#2e7d32', composite: '#c62828', 'tf.mean': '#1565c0' };
  for (const r of rows) {
    parts.push(
      `<text x="0" y="${y + 12}" class="bar-label">${r.backend} ${r.shape} ${r.pass}</text>`,
    );
    y += 16;
    for (const [name, ms] of [
      ['fused', r.fusedMs],
      ['composite', r.compositeMs],
      ['tf.mean', r.meanMs],
    ] as [keyof typeof colors, number][]) {
      const w = Math.max(1, (ms / max) * 600);
      parts.push(
        `<rect x="180" y="${y}" width="${w}" height="${barH - 2}" fill="${colors[name]}"><title>${name} ${ms.toFixed(2)} ms</title></rect>`,
        `<text x="0" y="${y + 11}" class="bar-label">  ${name}</text>`,
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
    };
    const [benchShape] = parseShapes($<HTMLInputElement>('benchShape').value);
    const env = await demoApi.environment();
    $<HTMLElement>('env').textContent =
      `${env.userAgent} | GL: ${env.glRenderer} (WebGL ${env.webglVersion}) | tfjs wasm build: ${env.wasmBuild}`;
    const backends = await demoApi.backends();
    const results: Record<string, CaseResult[]> = {};
    for (const b of backends) {
      status.textContent = `running the cases on ${b}...`;
      results[b] = await demoApi.runCases(b, spec);
    }
    const matrix = buildMatrix(matrixCases(spec), results);
    $<HTMLElement>('matrix').innerHTML = htmlTable(matrixMarkdown(matrix));
    const rows: BenchRow[] = [];
    if (benchShape) {
      const [batch, time, features] = benchShape as [number, number, number];
      for (const b of backends) {
        status.textContent = `timing ${b} at ${shapeLabel({ batch, time, features })}...`;
        rows.push(
          ...(await demoApi.bench(b, {
            shapes: [{ batch, time, features }],
            density: spec.density,
            seed: spec.seed,
            reps: 3,
            warmup: 3,
            backward: true,
          })),
        );
        $<HTMLElement>('speed').innerHTML = htmlTable(benchMarkdown(rows));
        drawChart(rows);
      }
    }
    const failed =
      Object.values(matrix.reference).some((c) => !c.pass) ||
      Object.values(matrix.pairs).some((c) => !c.pass);
    status.textContent = `done: ${matrix.cases} cases on ${backends.join(', ')}: ${failed ? 'FAIL' : 'all PASS'}`;
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
