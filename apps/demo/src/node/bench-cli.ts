// `pnpm bench`: fused kernel vs the composite tfjs ops vs tf.mean, side by side on each backend in
// one process (Node) or one page (Chromium), forward and backward. Writes bench.json + bench.md.
import { benchMarkdown, environmentMarkdown } from '../report.js';
import { benchOptionsFrom, COMMON_USAGE, parseCli, WARMUP } from './args.js';
import { log, nodeEnvironment, runSession, writeReport } from './run.js';

const USAGE = `pnpm bench [-- options]\n\nTimes the fused masked mean against the composite and tf.mean.\n${COMMON_USAGE}`;

async function main(): Promise<void> {
  const opts = parseCli(process.argv.slice(2), {
    benchShapes: '256x200x64,1024x50x16,8x4096x128',
    reps: 5,
    usage: USAGE,
  });
  const env = nodeEnvironment();
  const bench = benchOptionsFrom(opts);
  const session = await runSession(opts.backends, env, null, bench);
  env.notes?.push(
    `memory-copy bandwidth (TypedArray.set, GB/s read): ${Object.entries(session.copyGBps)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
    `mask density ${opts.density}, seed ${opts.seed}, median of ${opts.reps} runs after ${WARMUP} warm-up runs; backward = one tf.grad call (forward + backward)`,
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
    console.error(err);
    process.exit(1);
  },
);
