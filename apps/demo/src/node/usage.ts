// The CLIs' usage text, with no heavy import: `-h`/`--help` must answer before tfjs, the
// backends, Vite or Playwright load (test/cli.test.ts holds it to that, and checks that the op
// list here is core's table).

export const ALL_BACKENDS = [
  'node:cpu',
  'node:wasm',
  'chromium:cpu',
  'chromium:wasm',
  'chromium:webgl',
] as const;

/**
 * Core's MASKED_REDUCTIONS (reducers, then op names), spelled out so that printing the usage does
 * not load tfjs (test/cli.test.ts checks them against the table).
 */
export const OPS_IN_USAGE = ['sum', 'mean', 'max', 'min', 'logsumexp', 'moments'] as const;
export const OP_NAMES_IN_USAGE = [
  'maskedSum',
  'maskedMean',
  'maskedMax',
  'maskedMin',
  'maskedLogSumExp',
  'maskedMoments',
] as const;

/** tfjs's unmasked counterparts (the table's `unmasked`), in the same order. */
export const UNMASKED_IN_USAGE = ['sum', 'mean', 'max', 'min', 'logSumExp', 'moments'] as const;

/** What differs between `pnpm demo` and `pnpm bench`. */
export interface CliDefaults {
  benchShapes: string;
  reps: number;
  /** Time a variant may spend on timed runs before it stops short of --reps. */
  budgetMs: number;
  /** The runtimes run when --backends is not given. */
  backends: readonly string[];
}

/** `pnpm demo`: one pooling shape and a small time budget per variant (the speed table is a preview). */
export const DEMO_DEFAULTS: CliDefaults = {
  benchShapes: '256x200x64',
  reps: 3,
  budgetMs: 300,
  backends: ALL_BACKENDS,
};

/**
 * `pnpm bench`: three pooling layouts (DeepFM-like, short sequences, long sequences) and the
 * per-token loss. A fast variant gets 5 timed runs; one slower than 300 ms per call fewer, and
 * one slower than that per call is timed by its single run (cpu composites take seconds). The
 * chromium:cpu runtime runs tfjs-backend-cpu's JavaScript, as node:cpu does, at about the same
 * speed and for ~3 minutes more: opt in with --backends.
 */
export const BENCH_DEFAULTS: CliDefaults = {
  benchShapes: '256x200x64,1024x50x16,8x4096x128,4096x4096:all',
  reps: 5,
  budgetMs: 300,
  backends: ['node:cpu', 'node:wasm', 'chromium:wasm', 'chromium:webgl'],
};

/** True when the user asked for the usage (anywhere before a `--` that ends the options). */
export function helpRequested(argv: string[]): boolean {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** The options both CLIs take, with their defaults. */
const commonUsage = (d: CliDefaults): string => `
  --ops LIST                any of ${OPS_IN_USAGE.join(',')}
                            (or ${OP_NAMES_IN_USAGE.join(',')}, or all); default: all
  --shapes SHAPES           matrix cases of your own; default 64x50x16,8x1000x8
  --bench-shapes SHAPES     shapes to time (default ${d.benchShapes})
                            SHAPES: comma-separated; BxTxF = x [B,T,F] with mask [B,T], pooled over time
                            (axis 1); D1xD2...:all = the per-token-loss form, x and mask of that shape,
                            every axis (default axis, a scalar), e.g. 4096x4096:all
  --density D               fraction of valid mask elements, a number in [0, 1] (default 0.5)
  --seed N                  seed of the generated inputs, an integer in [0, 4294967295] (default 1)
  --backends LIST           any of ${ALL_BACKENDS.join(',')}, or all
                            (default: ${d.backends.length === ALL_BACKENDS.length ? 'all' : d.backends.join(',')})
  --reps N                  timed runs per variant at most, an integer >= 1; the median is reported,
                            with how many runs it has (default ${d.reps})
  --budget-ms MS            a variant stops short of --reps (at least 1 run) once its timed runs took
                            MS ms, its warm-ups MS/4; a first run longer than MS is its only one
                            (default ${d.budgetMs}; 0 = one warm-up and one timed run each)
  --out DIR                 where report files go (default: apps/demo/reports)
  -h, --help                this text
  CHROMIUM_PATH=...         use this Chromium instead of the one from @sparticuz/chromium`;

export const DEMO_USAGE = `usage: node apps/demo/dist/node/cli.js [options]   (or: pnpm demo -- [options], which builds first)

Runs the conformance matrix of every masked reduction on every backend, then times them.
${commonUsage(DEMO_DEFAULTS)}
  --no-conformance          only your --shapes cases, not the shared conformance cases`;

export const BENCH_USAGE = `usage: node apps/demo/dist/node/bench-cli.js [options]   (or: pnpm bench -- [options], which builds first)

Times each fused masked op against the composite users write today and tfjs's unmasked op
(${UNMASKED_IN_USAGE.map((u) => `tf.${u}`).join(', ')}) on the same input, forward and fwd+bwd
(one tf.grad call; of mean + variance for moments, whose calls return both outputs).
${commonUsage(BENCH_DEFAULTS)}`;
