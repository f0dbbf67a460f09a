// The CLIs' usage text, with no heavy import: `-h`/`--help` must answer before tfjs, the
// backends, Vite or Playwright load (test/cli.test.ts holds it to that, and checks that the op
// list here is core's table).

export const ALL_BACKENDS = [
  'node:cpu',
  'node:wasm',
  'chromium:cpu',
  'chromium:wasm',
  'chromium:webgl',
  'chromium:webgpu',
] as const;

/**
 * Core's MASKED_REDUCTIONS then MASKED_SOFTMAXES (the demo's names, then the op names), spelled
 * out so that printing the usage does not load tfjs (test/cli.test.ts checks them against the
 * tables).
 */
export const OPS_IN_USAGE = [
  'sum',
  'mean',
  'max',
  'min',
  'logsumexp',
  'moments',
  'softmax',
  'logsoftmax',
] as const;
export const OP_NAMES_IN_USAGE = [
  'maskedSum',
  'maskedMean',
  'maskedMax',
  'maskedMin',
  'maskedLogSumExp',
  'maskedMoments',
  'maskedSoftmax',
  'maskedLogSoftmax',
] as const;

/** tfjs's unmasked counterparts (the tables' `unmasked`), in the same order. */
export const UNMASKED_IN_USAGE = [
  'sum',
  'mean',
  'max',
  'min',
  'logSumExp',
  'moments',
  'softmax',
  'logSoftmax',
] as const;

/** What differs between `pnpm demo` and `pnpm bench`. */
export interface CliDefaults {
  benchShapes: string;
  /** The masked softmaxes' benchmark shapes (LOGITS:MASK). */
  softmaxShapes: string;
  /** The embedding bag's benchmark shapes (BxL:VxD). */
  bagShapes: string;
  reps: number;
  /** Time a variant may spend on timed runs before it stops short of --reps. */
  budgetMs: number;
  /** The runtimes run when --backends is not given. */
  backends: readonly string[];
}

/** `pnpm demo`: one pooling shape and a small time budget per variant (the speed table is a preview). */
export const DEMO_DEFAULTS: CliDefaults = {
  benchShapes: '256x200x64',
  softmaxShapes: '8x12x128x128:8x1x1x128',
  bagShapes: '256x200:10000x64',
  reps: 3,
  budgetMs: 300,
  backends: ALL_BACKENDS,
};

/**
 * `pnpm bench`: three pooling layouts (DeepFM-like, short sequences, long sequences) and the
 * per-token loss. A fast variant gets 5 timed runs; one slower than 300 ms per call fewer, and
 * one slower than that per call is timed by its single run (cpu composites take seconds). The
 * chromium:cpu runtime runs tfjs-backend-cpu's JavaScript, as node:cpu does, at about the same
 * speed and for ~3 minutes more: opt in with --backends. chromium:webgpu runs on SwiftShader here
 * (a CPU emulation: its composites take seconds per call, ~3 minutes for 4 ops at 2 shapes).
 */
export const BENCH_DEFAULTS: CliDefaults = {
  benchShapes: '256x200x64,1024x50x16,8x4096x128,4096x4096:all',
  softmaxShapes: '8x12x128x128:8x1x1x128,64x4096:64x4096',
  bagShapes: '1024x50:100000x16,256x200:10000x64',
  reps: 5,
  budgetMs: 300,
  backends: ['node:cpu', 'node:wasm', 'chromium:wasm', 'chromium:webgl', 'chromium:webgpu'],
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
                            (or ${OP_NAMES_IN_USAGE.join(',')}),
                            embeddingBag (or bag; timed only, on --bag-shapes), or all; default: all
                            (softmax and logsoftmax are timed on --softmax-shapes)
  --shapes SHAPES           matrix cases of your own; default 64x50x16,8x1000x8
  --bench-shapes SHAPES     shapes to time (default ${d.benchShapes})
                            SHAPES: comma-separated; BxTxF = x [B,T,F] with mask [B,T], pooled over time
                            (axis 1); D1xD2...:all = the per-token-loss form, x and mask of that shape,
                            every axis (default axis, a scalar), e.g. 4096x4096:all
  --softmax-shapes SHAPES   the masked softmaxes' shapes to time (default ${d.softmaxShapes})
                            LOGITS:MASK = logits with a mask broadcast to them (NumPy rules), softmax over
                            the last axis, e.g. 8x12x128x128:8x1x1x128 (key padding)
  --bag-shapes SHAPES       the embedding bag's shapes to time (default ${d.bagShapes})
                            BxL:VxD = ids [B,L] (20% of them padding id 0) into a table [V,D], mode mean
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

Runs the conformance matrix of every masked reduction and softmax on every backend, then times them.
${commonUsage(DEMO_DEFAULTS)}
  --no-conformance          only your --shapes cases, not the shared conformance cases`;

export const BENCH_USAGE = `usage: node apps/demo/dist/node/bench-cli.js [options]   (or: pnpm bench -- [options], which builds first)

Times each fused masked op against the composite users write today and tfjs's unmasked op
(${UNMASKED_IN_USAGE.map((u) => `tf.${u}`).join(', ')}) on the same input, forward and fwd+bwd
(one tf.grad call; of mean + variance for moments, whose calls return both outputs); the
softmaxes against tf.softmax(tf.where(mask, x, -1e9)) with empty rows zeroed; and embeddingBag
against tf.gather + maskedMean and tf.gather + tf.mean (fwd+bwd: the table's gradient).
${commonUsage(BENCH_DEFAULTS)}`;

/** `pnpm --filter demo deepfm`: the Node backends (the page trains on webgl; opt in with --backends). */
export const DEEPFM_BACKENDS = ['node:cpu', 'node:wasm'] as const;

/** DEEPFM_DEFAULTS of src/deepfm/train.ts, spelled out so that -h loads nothing. */
export const DEEPFM_USAGE_DEFAULTS = {
  epochs: 4,
  train: 8_000,
  test: 4_000,
  batchSize: 256,
  seed: 1,
} as const;

export const DEEPFM_USAGE = `usage: node apps/demo/dist/node/deepfm-cli.js [options]   (or: pnpm --filter demo deepfm -- [options], which builds first)

Trains DeepFM (first order + FM + MLP over embeddingBag-pooled fields) and a logistic-regression
baseline on a synthetic click log with a known rule (per-id effects plus one interests x category
interaction), per backend; prints each epoch's training loss and both models' held-out AUC.

  --backends LIST           any of ${ALL_BACKENDS.join(',')}, or all
                            (default: ${DEEPFM_BACKENDS.join(',')})
  --epochs N                passes over the training impressions, an integer >= 1 (default ${DEEPFM_USAGE_DEFAULTS.epochs})
  --train N                 training impressions, an integer >= 1 (default ${DEEPFM_USAGE_DEFAULTS.train})
  --test N                  held-out impressions for the AUC, an integer >= 100 (default ${DEEPFM_USAGE_DEFAULTS.test})
  --batch-size N            impressions per Adam step, an integer in [1, 65536] (default ${DEEPFM_USAGE_DEFAULTS.batchSize});
                            on webgl without the plugin's bag kernels, core's fallback costs grow with
                            its square: try 64
  --seed N                  seed of the impressions, an integer in [0, 4294967295] (default ${DEEPFM_USAGE_DEFAULTS.seed});
                            the rule and the initial values keep their own seeds
  --out DIR                 where deepfm.json and deepfm.md go (default: apps/demo/reports)
  -h, --help                this text
  CHROMIUM_PATH=...         use this Chromium instead of the one from @sparticuz/chromium`;
