import type { BenchRow } from './bench.js';
import type { Cell, Matrix } from './matrix.js';

/** Where a run happened: printed at the top of every report. */
export interface Environment {
  date: string;
  node?: string;
  os?: string;
  cpus?: string;
  browser?: string;
  glRenderer?: string;
  webglVersion?: number;
  wasmBuild?: string;
  notes?: string[];
}

const fmt = (n: number, digits = 2): string =>
  !Number.isFinite(n) ? String(n) : n >= 100 ? n.toFixed(0) : n.toFixed(digits);

/** "PASS 1.3e-2 (0.01 of bound)": the largest difference, and the worst error relative to its bound. */
const cellText = (c: Cell): string =>
  `${c.pass ? 'PASS' : 'FAIL'} ${c.maxAbsDiff.toExponential(1)} (${
    c.pass ? `${c.worstRatio.toPrecision(2)} of bound` : `${c.failures} bad`
  })`;

function table(header: string[], rows: string[][]): string {
  const lines = [header, header.map(() => '---'), ...rows];
  return lines.map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function environmentMarkdown(env: Environment): string {
  const items = [
    `date: ${env.date}`,
    env.node && `node: ${env.node}`,
    env.os && `os: ${env.os}`,
    env.cpus && `cpus: ${env.cpus}`,
    env.browser && `browser: ${env.browser}`,
    env.glRenderer && `GL renderer: ${env.glRenderer} (WebGL ${env.webglVersion})`,
    env.wasmBuild && `tfjs wasm build: ${env.wasmBuild}`,
    ...(env.notes ?? []),
  ].filter(Boolean);
  return items.map((i) => `- ${i}`).join('\n');
}

/** Rows: backends; first column: the float64 reference; then every other backend. */
export function matrixMarkdown(m: Matrix): string {
  const header = ['backend', 'vs float64 reference', ...m.backends];
  const rows = m.backends.map((a) => [
    a,
    cellText(m.reference[a]!),
    ...m.backends.map((b) => {
      if (a === b) return '-';
      const cell = m.pairs[`${a}|${b}`] ?? m.pairs[`${b}|${a}`]!;
      return cellText(cell);
    }),
  ]);
  return table(header, rows);
}

export function benchMarkdown(rows: BenchRow[]): string {
  return table(
    [
      'backend',
      'shape',
      'pass',
      'fused ms',
      'composite ms',
      'tf.mean ms',
      'fused vs composite',
      'fused vs tf.mean',
      'fused GB/s (x read)',
    ],
    rows.map((r) => [
      r.backend,
      r.shape,
      r.pass,
      fmt(r.fusedMs),
      fmt(r.compositeMs),
      fmt(r.meanMs),
      `${fmt(r.vsComposite, 1)}x`,
      `${fmt(r.vsMean, 2)}x`,
      fmt(r.fusedGBps),
    ]),
  );
}

export function matrixFailures(m: Matrix): string[] {
  const out: string[] = [];
  for (const [b, c] of Object.entries(m.reference)) {
    if (!c.pass) out.push(`${b} vs reference: ${c.failures} bad, first ${c.firstFailure}`);
  }
  for (const [p, c] of Object.entries(m.pairs)) {
    if (!c.pass) out.push(`${p.replace('|', ' vs ')}: ${c.failures} bad, first ${c.firstFailure}`);
  }
  return out;
}
