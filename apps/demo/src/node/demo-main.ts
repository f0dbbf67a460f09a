// `pnpm demo` (after cli.ts): the cross-backend matrix. Every backend runs the same cases forward and backward,
// for every op of core's table (or --ops); each result is compared with the float64 reference and
// with every other backend; then a speed table per op.
// Writes report.json and report.md; exits non-zero on any FAIL.

import { TOLERANCE_FACTOR } from '@masked-ops/core/testing';
import { buildMatrix, type MatrixSpec, matrixRuns } from '../matrix.js';
import { matrixOpsOf } from '../ops.js';
import { benchMarkdown, environmentMarkdown, matrixFailures, matrixMarkdown } from '../report.js';
import { benchOptionsFrom, parseCli, UsageError } from './args.js';
import { log, nodeEnvironment, runSession, writeReport } from './run.js';
import { DEMO_DEFAULTS } from './usage.js';

const AGREEMENT = `Each cell: PASS/FAIL and the largest |difference| over every value of one output, forward and gradient (an op with several outputs, maskedMoments, has a table per output, each gradient that of the output alone). The verdict is @masked-ops/core/testing's compareValues (docs/SPEC.md "Accuracy"): sums, means, log-sum-exps and moments within ${TOLERANCE_FACTOR.float32} * (1 + scale) * ceil(log2(count + 1)) of the float64 reference (the scale of a variance is the largest squared deviation from the mean), max and min exactly the float32-rounded reference, gradients within ${TOLERANCE_FACTOR.float32} * (1 + |ref|), plus, where the gradient reads the op's own float32 output (log-sum-exp's y, moments' mean), that output's allowed error carried through the formula; softmax probabilities and their gradients relative to their size, ${TOLERANCE_FACTOR.float32} * scale * ceil(log2(count + 1)) + 2^-126 (the scale of a probability y at x is y * (1 + |x - max|)), log-softmax within ${TOLERANCE_FACTOR.float32} * (1 + |x - max| + log(sum)) * ceil(log2(count + 1)); masked positions exactly 0 (-Infinity for log-softmax) and rows with no valid position exactly 0; a slice with no valid element exactly the op's empty value (0; -Infinity for logsumexp); non-finite values exactly. Between two backends, one's values are compared with the other's as if they were the reference (same counts, scales, exactness). The kernels column says whether the plugin's kernels ran or core's composite fallback.`;

async function main(): Promise<number> {
  const opts = parseCli(process.argv.slice(2), DEMO_DEFAULTS);
  const env = nodeEnvironment();
  const spec: MatrixSpec = {
    shapes: opts.shapes,
    density: opts.density,
    seed: opts.seed,
    conformance: opts.conformance,
    // The bag is timed, not in the matrix (core's bag conformance suite checks it).
    ops: matrixOpsOf(opts.ops),
  };
  const session = await runSession(opts.backends, env, spec, benchOptionsFrom(opts));
  const matrix = buildMatrix(matrixRuns(spec), session.results, undefined, session.kernels);
  // A requested backend that could not run fails the run, named first (never a silent skip).
  const failures = [
    ...Object.entries(session.unavailable).map(([b, why]) => `${b}: ${why}`),
    ...matrixFailures(matrix),
  ];
  const markdown = [
    '# masked-ops cross-backend matrix',
    environmentMarkdown(env),
    `## Agreement: ${[...new Set(matrix.ops.map((o) => `${o.op} ${o.cases}`))].join(', ')} cases, forward and gradient\n\n${AGREEMENT}`,
    matrixMarkdown(matrix),
    '## Speed (median ms; ratios: how many times faster the fused op is)',
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
    {
      environment: env,
      spec,
      matrix,
      bench: session.bench,
      copyGBps: session.copyGBps,
      unavailable: session.unavailable,
    },
    markdown,
  );
  log(`wrote ${files.join(', ')}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(--help lists the options)`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
