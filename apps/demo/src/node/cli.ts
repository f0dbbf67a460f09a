// `pnpm demo`: the cross-backend matrix. Every backend runs the same cases forward and backward;
// each is compared with the float64 reference and with every other backend; then a speed table.
// Writes report.json and report.md; exits non-zero on any FAIL.

import { buildMatrix, matrixCases } from '../matrix.js';
import { benchMarkdown, environmentMarkdown, matrixFailures, matrixMarkdown } from '../report.js';
import { benchOptionsFrom, COMMON_USAGE, parseCli } from './args.js';
import { log, nodeEnvironment, runSession, writeReport } from './run.js';

const USAGE = `pnpm demo [-- options]\n\nRuns the masked-mean conformance matrix on every backend.\n${COMMON_USAGE}
  --no-conformance          only your --shapes cases, not the shared conformance cases`;

async function main(): Promise<number> {
  const opts = parseCli(process.argv.slice(2), {
    benchShapes: '256x200x64',
    reps: 3,
    usage: USAGE,
  });
  const env = nodeEnvironment();
  const spec = {
    shapes: opts.shapes,
    density: opts.density,
    seed: opts.seed,
    conformance: opts.conformance,
  };
  const session = await runSession(opts.backends, env, spec, benchOptionsFrom(opts));
  const matrix = buildMatrix(matrixCases(spec), session.results);
  const failures = matrixFailures(matrix);
  const markdown = [
    '# masked-ops cross-backend matrix',
    environmentMarkdown(env),
    `## Agreement: ${matrix.cases} cases, forward and gradient\n\nEach cell: PASS/FAIL and the largest |difference| over all outputs and gradients. A backend passes against the float64 reference within 1e-5 * (1 + max|x|) * ceil(log2(count + 1)); two backends may differ by the sum of their bounds; non-finite values must match exactly.`,
    matrixMarkdown(matrix),
    '## Speed (median ms; ratios: how many times faster the fused kernel is)',
    benchMarkdown(session.bench),
    failures.length
      ? `## FAILURES\n\n${failures.map((f) => `- ${f}`).join('\n')}`
      : '## Result: every cell PASS',
    '',
  ].join('\n\n');
  console.log(`\n${markdown}`);
  const files = writeReport(
    opts.out,
    'report',
    { environment: env, spec, matrix, bench: session.bench, copyGBps: session.copyGBps },
    markdown,
  );
  log(`wrote ${files.join(', ')}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
