import type { BenchRow } from './bench.js';
import type { Cell, Matrix, OpMatrix } from './matrix.js';

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
  /** The page's WebGPU adapter, or why it has none. */
  webgpuAdapter?: string;
  notes?: string[];
}

const fmt = (n: number, digits = 2): string =>
  !Number.isFinite(n) ? String(n) : n >= 100 ? n.toFixed(0) : n.toFixed(digits);

/**
 * "PASS 1.3e-7 (2% of bound)" / "PASS 0 (exact)" / "FAIL 3.2e-1 (4 bad)": the verdict, the
 * largest |difference| and how much of its allowed error the worst element used.
 */
export const cellText = (c: Cell): string => {
  const verdict = c.pass ? 'PASS' : 'FAIL';
  if (!c.pass) return `${verdict} ${c.maxAbsDiff.toExponential(1)} (${c.failures} bad)`;
  if (c.maxAbsDiff === 0) return `${verdict} 0 (exact)`;
  const pct = c.worstOfBound * 100;
  return `${verdict} ${c.maxAbsDiff.toExponential(1)} (${pct < 1 ? '<1' : pct.toFixed(0)}% of bound)`;
};

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
    env.webgpuAdapter && `WebGPU adapter: ${env.webgpuAdapter}`,
    ...(env.notes ?? []),
  ].filter(Boolean);
  return items.map((i) => `- ${i}`).join('\n');
}

/**
 * One op's matrix. Rows: backends; then which code ran (when known), the float64 reference, every
 * other backend.
 */
export function opMatrixMarkdown(m: Matrix, om: OpMatrix): string {
  const withKernels = Object.keys(om.kernels).length > 0;
  const header = [
    'backend',
    ...(withKernels ? ['kernels'] : []),
    'vs float64 reference',
    ...m.backends,
  ];
  const rows = m.backends.map((a) => [
    a,
    ...(withKernels ? [om.kernels[a] ?? '?'] : []),
    cellText(om.reference[a]!),
    ...m.backends.map((b) => {
      if (a === b) return '-';
      return cellText(om.pairs[`${a}|${b}`] ?? om.pairs[`${b}|${a}`]!);
    }),
  ]);
  return table(header, rows);
}

/** Every op's matrix, one section each (one per output of an op with several). */
export function matrixMarkdown(m: Matrix): string {
  return m.ops
    .map((om) => `### ${om.label} (${om.cases} cases)\n\n${opMatrixMarkdown(m, om)}`)
    .join('\n\n');
}

/** The op names of the rows, in the order they first appear. */
const opsOf = (rows: BenchRow[]): string[] => [...new Set(rows.map((r) => r.op))];

/** A median, or why there is none ("skipped": see the row's `skipped`). */
const msCell = (ms: number): string => (Number.isNaN(ms) ? 'skipped' : fmt(ms));
const ratioCell = (r: number, digits: number): string =>
  Number.isNaN(r) ? '-' : `${fmt(r, digits)}x`;

/**
 * One op's speed table: a line per backend and shape, forward and backward side by side; the
 * ratios say how many times faster the fused op is than the composite and than tfjs's unmasked op;
 * `runs` is how many timed runs each median has (fused/composite/unmasked). A variant that was not
 * timed shows "skipped", and the reasons follow the table.
 */
export function opBenchMarkdown(rows: BenchRow[], op: string): string {
  const mine = rows.filter((r) => r.op === op);
  const keys = [...new Set(mine.map((r) => `${r.backend}|${r.shape}`))];
  const unmasked = mine[0]?.unmasked ?? 'unmasked';
  const composite = mine[0]?.composite ?? 'composite';
  const cols = (r: BenchRow | undefined): string[] =>
    r
      ? [
          msCell(r.fusedMs),
          msCell(r.compositeMs),
          msCell(r.unmaskedMs),
          ratioCell(r.vsComposite, 1),
          ratioCell(r.vsUnmasked, 2),
          `${r.reps.fused}/${r.reps.composite}/${r.reps.unmasked}`,
        ]
      : ['-', '-', '-', '-', '-', '-'];
  const passHeader = (pass: string) => [
    `${pass} fused`,
    composite,
    unmasked,
    `vs ${composite === 'composite' ? 'composite' : 'two steps'}`,
    `vs ${unmasked}`,
    'runs',
  ];
  const speed = table(
    ['backend', 'shape', 'kernels', ...passHeader('fwd'), ...passHeader('fwd+bwd'), 'fwd GB/s'],
    keys.map((k) => {
      const [backend, shape] = k.split('|') as [string, string];
      const of = (pass: string) =>
        mine.find((r) => r.backend === backend && r.shape === shape && r.pass === pass);
      const forward = of('forward');
      return [
        backend,
        shape,
        (forward ?? of('backward'))!.kernel,
        ...cols(forward),
        ...cols(of('backward')),
        forward ? fmt(forward.fusedGBps) : '-',
      ];
    }),
  );
  const skipped = mine.flatMap((r) =>
    Object.entries(r.skipped ?? {}).map(
      ([variant, why]) =>
        `- ${r.backend} ${r.shape} ${r.pass === 'forward' ? 'fwd' : 'fwd+bwd'} ${variant === 'fused' ? 'fused' : variant === 'composite' ? composite : unmasked}: ${why}`,
    ),
  );
  return skipped.length ? `${speed}\n\nNot timed:\n\n${skipped.join('\n')}` : speed;
}

/** Every op's speed table, one section each (median ms). */
export function benchMarkdown(rows: BenchRow[]): string {
  return opsOf(rows)
    .map((op) => `### ${op}\n\n${opBenchMarkdown(rows, op)}`)
    .join('\n\n');
}

export function matrixFailures(m: Matrix): string[] {
  const out: string[] = [];
  for (const om of m.ops) {
    for (const [b, c] of Object.entries(om.reference)) {
      if (!c.pass) {
        out.push(
          `${om.label} ${b} vs reference: ${c.failures} bad, first ${c.firstFailure}; in ${c.failingCases!.join('; ')}`,
        );
      }
    }
    for (const [p, c] of Object.entries(om.pairs)) {
      if (!c.pass) {
        out.push(
          `${om.label} ${p.replace('|', ' vs ')}: ${c.failures} bad, first ${c.firstFailure}`,
        );
      }
    }
  }
  return out;
}
