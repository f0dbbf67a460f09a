import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReducerName } from '@masked-ops/core';
import type { BenchOptions } from '../bench.js';
import { ALL_OPS, parseOps } from '../ops.js';
import { parseShapes, type ShapeSpec } from '../shapes.js';
import { demoRoot } from './paths.js';

export const ALL_BACKENDS = [
  'node:cpu',
  'node:wasm',
  'chromium:cpu',
  'chromium:wasm',
  'chromium:webgl',
] as const;

/** Warm-up runs before timing: the first calls compile shaders and grow heaps. */
export const WARMUP = 3;

/** What differs between `pnpm demo` and `pnpm bench`. */
export interface CliDefaults {
  benchShapes: string;
  reps: number;
  /** Time a variant may spend on timed runs before it stops short of --reps. */
  budgetMs: number;
  usage: string;
}

/** A bad flag value: the CLIs print its message alone (no stack) and exit 2. */
export class UsageError extends Error {}

export interface CliOptions {
  shapes: ShapeSpec[];
  benchShapes: ShapeSpec[];
  ops: ReducerName[];
  density: number;
  seed: number;
  backends: string[];
  conformance: boolean;
  reps: number;
  budgetMs: number;
  out: string;
}

export function parseCli(argv: string[], defaults: CliDefaults): CliOptions {
  try {
    return parseFlags(argv, defaults);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseFlags(argv: string[], defaults: CliDefaults): CliOptions {
  const { values } = parseArgs({
    // `pnpm demo -- --flag` passes the `--` through.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      shapes: { type: 'string', default: '64x50x16,8x1000x8' },
      'bench-shapes': { type: 'string', default: defaults.benchShapes },
      ops: { type: 'string', default: ALL_OPS.join(',') },
      density: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      backends: { type: 'string', default: ALL_BACKENDS.join(',') },
      'no-conformance': { type: 'boolean', default: false },
      reps: { type: 'string', default: String(defaults.reps) },
      'budget-ms': { type: 'string', default: String(defaults.budgetMs) },
      out: { type: 'string', default: join(demoRoot, 'reports') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(defaults.usage);
    process.exit(0);
  }
  const backends = values.backends.split(',').filter(Boolean);
  const unknown = backends.filter((b) => !(ALL_BACKENDS as readonly string[]).includes(b));
  if (unknown.length) throw new Error(`unknown backend(s) ${unknown}; known: ${ALL_BACKENDS}`);
  const density = Number(values.density);
  if (!(density >= 0 && density <= 1)) throw new Error(`--density must be in [0, 1]`);
  const count = (flag: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}`);
    return n;
  };
  return {
    shapes: parseShapes(values.shapes),
    benchShapes: parseShapes(values['bench-shapes']),
    ops: parseOps(values.ops),
    density,
    seed: Number(values.seed),
    backends,
    conformance: !values['no-conformance'],
    reps: count('reps', values.reps, 1),
    budgetMs: count('budget-ms', values['budget-ms'], 0),
    out: values.out,
  };
}

/** The options both CLIs take, with their defaults. */
export const commonUsage = (d: Omit<CliDefaults, 'usage'>): string => `
  --ops LIST                any of ${ALL_OPS.join(',')} (or maskedSum,maskedMean,maskedMax,maskedMin, or all); default: all
  --shapes SHAPES           matrix cases of your own; default 64x50x16,8x1000x8
  --bench-shapes SHAPES     shapes to time (default ${d.benchShapes})
                            SHAPES: comma-separated; BxTxF = x [B,T,F] with mask [B,T], pooled over time
                            (axis 1); D1xD2...:all = the per-token-loss form, x and mask of that shape,
                            every axis (default axis, a scalar), e.g. 4096x4096:all
  --density D               fraction of valid mask elements, 0..1 (default 0.5)
  --seed N                  seed of the generated inputs (default 1)
  --backends LIST           any of ${ALL_BACKENDS.join(',')} (default: all)
  --reps N                  timed repetitions per variant at most; the median is reported (default ${d.reps})
  --budget-ms MS            a variant stops short of --reps (at least 1 run) once its timed runs took
                            MS ms, its warm-ups MS/2; a first run longer than MS is its only one
                            (default ${d.budgetMs}): cpu composites take seconds per call
  --out DIR                 where report files go (default: apps/demo/reports)
  CHROMIUM_PATH=...         use this Chromium instead of the one from @sparticuz/chromium`;

/** The benchmark settings the flags describe (forward and backward, every --bench-shapes). */
export function benchOptionsFrom(opts: CliOptions): Omit<BenchOptions, 'onProgress'> {
  return {
    shapes: opts.benchShapes,
    ops: opts.ops,
    density: opts.density,
    seed: opts.seed,
    reps: opts.reps,
    warmup: WARMUP,
    budgetMs: opts.budgetMs,
    backward: true,
  };
}
