// `pnpm bench`: for every op of core's table (or --ops), the fused op vs the composite users write
// vs tfjs's unmasked op, side by side on each backend in one process (Node) or one page
// (Chromium), forward and backward. Writes bench.json + bench.md.
import { benchMarkdown, environmentMarkdown } from '../report.js';
import { benchOptionsFrom, commonUsage, parseCli, UsageError, WARMUP } from './args.js';
import { log, nodeEnvironment, runSession, writeReport } from './run.js';

/**
 * Three pooling layouts (DeepFM-like, short sequences, long sequences) and the per-token loss;
 * five timed runs of a fast variant, fewer of one that takes more than 1.5 s in all.
 */
const DEFAULTS = {
  benchShapes: '256x200x64,1024x50x16,8x4096x128,4096x4096:all',
  reps: 5,
  budgetMs: 1500,
};

const USAGE = `pnpm bench [-- options]

Times each fused masked op against the composite users write today and tfjs's unmasked op
(tf.sum, tf.mean, tf.max, tf.min) on the same input, forward and tf.grad.
${commonUsage(DEFAULTS)}`;

async function main(): Promise<void> {
  const opts = parseCli(process.argv.slice(2), { ...DEFAULTS, usage: USAGE });
  const env = nodeEnvironment();
  const bench = benchOptionsFrom(opts);
  const session = await runSession(opts.backends, env, null, bench);
  env.notes?.push(
    `memory-copy bandwidth (TypedArray.set, GB/s read): ${Object.entries(session.copyGBps)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
    `ops ${opts.ops.join(', ')}; mask density ${opts.density}, seed ${opts.seed}; median of up to ${opts.reps} runs after up to ${WARMUP} warm-up runs, fewer for a variant slower than --budget-ms ${opts.budgetMs} (bench.json's reps); fwd+bwd = one tf.grad call (forward + backward)`,
    "composites as users write them: sum `sum(x * mask)`, mean `sum(x * mask) / sum(mask)`, max/min `where(count > 0, max/min(where(mask, x, ∓Inf)), 0)`; `[..]:all` = mask of x's shape, every axis (a scalar), against the unmasked op with no axis",
    'SwiftShader WebGL is a CPU emulation: compare ratios, not absolute webgl times',
  );
  const markdown = [
    '# masked-ops benchmarks',
    environmentMarkdown(env),
    benchMarkdown(session.bench),
    '',
  ].join('\n\n');
  console.log(`\n${markdown}`);
  const files = writeReport(
    opts.out,
    'bench',
    { environment: env, options: bench, rows: session.bench, copyGBps: session.copyGBps },
    markdown,
  );
  log(`wrote ${files.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(--help lists the options)`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
