// `pnpm bench` (after bench-cli.ts): for every op of core's table (or --ops), the fused op vs the composite users write
// vs tfjs's unmasked op, side by side on each backend in one process (Node) or one page
// (Chromium), forward and backward. Writes bench.json + bench.md.

import { execFileSync } from 'node:child_process';
import { BAG_PADDING } from '../bench.js';
import { BAG, softmaxesOf } from '../ops.js';
import { benchMarkdown, environmentMarkdown } from '../report.js';
import { bagLabel, softmaxLabel } from '../shapes.js';
import { benchOptionsFrom, parseCli, UsageError, WARMUP } from './args.js';
import { log, nodeEnvironment, runSession, writeReport } from './run.js';
import { BENCH_DEFAULTS } from './usage.js';

/** The machine's load averages (the bench shares a 2-core machine with other jobs). */
const loadAverage = (): string => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return 'uptime unavailable';
  }
};

async function main(): Promise<number> {
  const opts = parseCli(process.argv.slice(2), BENCH_DEFAULTS);
  const env = nodeEnvironment();
  const bench = benchOptionsFrom(opts);
  const before = loadAverage();
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  const session = await runSession(opts.backends, env, null, bench);
  const total = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const split = Object.entries(session.seconds)
    .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
    .join(', ');
  env.notes?.push(
    `memory-copy bandwidth (TypedArray.set, GB/s read): ${Object.entries(session.copyGBps)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
    `ops ${opts.ops.join(', ')}; mask density ${opts.density}, seed ${opts.seed}; median of up to ${opts.reps} timed runs after 1 to ${WARMUP} warm-up runs, the three variants' runs interleaved; a variant stops once its timed runs took --budget-ms ${opts.budgetMs} ms, and one whose first call took longer is timed by that call alone (the runs columns and bench.json's reps say how many runs each median has); fwd+bwd = one tf.grad call (forward + backward)`,
    "composites as users write them: sum `sum(x * mask)`, mean `sum(x * mask) / sum(mask)`, max/min `where(count > 0, max/min(where(mask, x, ∓Inf)), 0)`, logsumexp `m = where(count > 0, max(where(mask, x, -Inf)), 0)`, `s = sum(where(mask, exp(x - m), 0))`, `where(count > 0, log(where(count > 0, s, 1)) + m, -Inf)`, moments `n = maximum(count, 1)`, `mean = sum(where(mask, x, 0)) / n`, `variance = sum(where(mask, x - mean, 0)²) / n` (NaN-free gradients on empty rows too); `[..]:all` = mask of x's shape, every axis (a scalar), against the unmasked op with no axis",
    "moments (fused, composite and tf.moments alike): a forward call returns mean and variance; fwd+bwd differentiates mean + variance (both outputs' gradients, cotangent ones)",
    ...(softmaxesOf(opts.ops).length
      ? [
          `maskedSoftmax, maskedLogSoftmax (softmax shapes ${opts.softmaxShapes.map(softmaxLabel).join('; ')}; softmax over the last axis; logits uniform in [-4, 4); each mask row along its last axis a valid prefix, key padding, of length uniform in [0, min(n, 2 * density * n)]): fused \`maskedSoftmax(x, mask)\` vs the composite users write today \`where(any(mask, -1, keepDims), softmax(where(mask, x, -1e9)), 0)\` (tf.where broadcasts the mask; the outer where zeroes rows without a valid position, which softmax alone makes uniform) vs tfjs's unmasked \`tf.softmax(x)\`; likewise with tf.logSoftmax; fwd+bwd = one tf.grad call with a random cotangent of the logits' shape; fwd GB/s = logits bytes per second`,
        ]
      : []),
    ...(opts.ops.includes(BAG)
      ? [
          `embeddingBag (bag shapes ${opts.bagShapes.map(bagLabel).join('; ')}; mode mean, ${BAG_PADDING * 100}% of the ids padding id 0, at random): fused \`embeddingBag(table, ids, {mode: 'mean', paddingId: 0})\` vs the two steps users write with our ops \`maskedMean(tf.gather(table, ids), tf.notEqual(ids, 0), 1)\` vs stock tfjs \`tf.mean(tf.gather(table, ids), 1)\` (padding averaged in); fwd+bwd = tf.grad with respect to the table (cotangent ones): the fused gradient kernel vs tfjs's gather gradient (UnsortedSegmentSum) for both others; fwd GB/s = the ids' rows read per second`,
          "embeddingBag fwd+bwd: a call estimated over 2 minutes is not made, and 'Not timed' says why: on cpu, tfjs-backend-cpu's UnsortedSegmentSum makes a pass over the gradient per table row (one row's pass timed, times the rows); on webgl, tfjs's UnsortedSegmentSum and core's fallback scatter-add (without the plugin's bag kernels) grow with table rows x ids (the call timed on tables of 16, 32, ... rows and extended)",
        ]
      : []),
    'SwiftShader WebGL and WebGPU are CPU emulations: compare ratios, not absolute webgl or webgpu times',
    `total ${total.toFixed(0)} s wall (${split}); this Node process used ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s of CPU`,
    `load before: ${before}; after: ${loadAverage()}`,
  );
  // A requested backend that could not run (no WebGPU adapter, say) fails the run: exit code 1.
  const unavailable = Object.entries(session.unavailable).map(([b, why]) => `- ${b}: ${why}`);
  const markdown = [
    '# masked-ops benchmarks',
    environmentMarkdown(env),
    benchMarkdown(session.bench),
    ...(unavailable.length ? [`## FAILURES\n\n${unavailable.join('\n')}`] : []),
    '',
  ].join('\n\n');
  console.log(`\n${markdown}`);
  const files = writeReport(
    opts.out,
    'bench',
    {
      environment: env,
      options: bench,
      rows: session.bench,
      copyGBps: session.copyGBps,
      unavailable: session.unavailable,
    },
    markdown,
  );
  log(`wrote ${files.join(', ')}`);
  return unavailable.length ? 1 : 0;
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
