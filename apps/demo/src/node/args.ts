import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions } from '../bench.js';
import { ALL_BENCH_OPS, type BenchOp, parseOps } from '../ops.js';
import {
  type BagShape,
  parseBagShapes,
  parseShapes,
  parseSoftmaxShapes,
  type ShapeSpec,
  type SoftmaxShape,
  shapeLabel,
  softmaxLabel,
} from '../shapes.js';
import { demoRoot } from './paths.js';
import { ALL_BACKENDS, type CliDefaults, DEEPFM_BACKENDS, DEEPFM_USAGE_DEFAULTS } from './usage.js';

export { ALL_BACKENDS, type CliDefaults } from './usage.js';

/** Warm-up runs before timing, at most: the first calls compile shaders and grow heaps. */
export const WARMUP = 3;

/** The largest x a shape may describe (4096x4096 is 2^24). */
export const MAX_ELEMENTS = 2 ** 26;

/** A bad flag value: the CLIs print its message alone (no stack) and exit 2. */
export class UsageError extends Error {}

export interface CliOptions {
  shapes: ShapeSpec[];
  benchShapes: ShapeSpec[];
  softmaxShapes: SoftmaxShape[];
  bagShapes: BagShape[];
  /**
   * The masked reductions and softmaxes (matrix and benchmarks) and the bag (benchmarks only).
   */
  ops: BenchOp[];
  density: number;
  seed: number;
  backends: string[];
  conformance: boolean;
  reps: number;
  budgetMs: number;
  out: string;
}

/** A flag's value as a finite number. */
export function number(flag: string, text: string): number {
  // Number('') and Number(' ') are 0: an empty value is not a number.
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got "${text}"`);
  return n;
}

/** A flag's value as an integer in [min, max]. */
export function integer(flag: string, text: string, min: number, max: number): number {
  const n = number(flag, text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(
      `--${flag} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got "${text}"`,
    );
  }
  return n;
}

/** `--backends`: a list of ALL_BACKENDS (or "all"), each once. */
export function parseBackends(text: string): string[] {
  const words = text.split(/[,;\s]+/).filter(Boolean);
  const backends = words.includes('all') ? [...ALL_BACKENDS] : [...new Set(words)];
  const unknown = backends.filter((b) => !(ALL_BACKENDS as readonly string[]).includes(b));
  if (unknown.length || backends.length === 0) {
    throw new Error(
      `${backends.length ? `unknown backend(s) ${unknown.join(', ')}` : '--backends is empty'}; expected any of ${ALL_BACKENDS.join(', ')}, or all`,
    );
  }
  return backends;
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
    strict: true,
    allowPositionals: false,
    options: {
      shapes: { type: 'string', default: '64x50x16,8x1000x8' },
      'bench-shapes': { type: 'string', default: defaults.benchShapes },
      'softmax-shapes': { type: 'string', default: defaults.softmaxShapes },
      'bag-shapes': { type: 'string', default: defaults.bagShapes },
      ops: { type: 'string', default: ALL_BENCH_OPS.join(',') },
      density: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      backends: { type: 'string', default: defaults.backends.join(',') },
      'no-conformance': { type: 'boolean', default: false },
      reps: { type: 'string', default: String(defaults.reps) },
      'budget-ms': { type: 'string', default: String(defaults.budgetMs) },
      out: { type: 'string', default: join(demoRoot, 'reports') },
    },
  });
  const backends = parseBackends(values.backends);
  const density = number('density', values.density);
  if (density < 0 || density > 1) {
    throw new Error(`--density must be a number in [0, 1], got "${values.density}"`);
  }
  const shapes = (flag: string, text: string) => {
    const parsed = parseShapes(text);
    if (parsed.length === 0) throw new Error(`--${flag} is empty`);
    for (const p of parsed) {
      const size = p.x.reduce((a, d) => a * d, 1);
      // x, its gradient and the composites' temporaries must fit in a browser tab's memory.
      if (size > MAX_ELEMENTS) {
        throw new Error(
          `--${flag}: ${shapeLabel(p)} has ${size} elements, more than the ${MAX_ELEMENTS} (2^26) the demo allows`,
        );
      }
    }
    return parsed;
  };
  const softmaxShapes = (text: string) => {
    const parsed = parseSoftmaxShapes(text);
    if (parsed.length === 0) throw new Error('--softmax-shapes is empty');
    for (const p of parsed) {
      const size = p.logits.reduce((a, d) => a * d, 1);
      if (size > MAX_ELEMENTS) {
        throw new Error(
          `--softmax-shapes: ${softmaxLabel(p)} has ${size} logits, more than the ${MAX_ELEMENTS} (2^26) the demo allows`,
        );
      }
    }
    return parsed;
  };
  const bagShapes = (text: string) => {
    const parsed = parseBagShapes(text);
    if (parsed.length === 0) throw new Error('--bag-shapes is empty');
    for (const b of parsed) {
      // The table, its gradient and the gathered [B, L, D] of the two-step variants.
      const size = Math.max(b.vocab, b.batch * b.bagLen) * b.dim;
      if (size > MAX_ELEMENTS) {
        throw new Error(
          `--bag-shapes: ${b.batch}x${b.bagLen}:${b.vocab}x${b.dim} has ${size} elements in its table or its gathered rows, more than the ${MAX_ELEMENTS} (2^26) the demo allows`,
        );
      }
    }
    return parsed;
  };
  return {
    shapes: shapes('shapes', values.shapes),
    benchShapes: shapes('bench-shapes', values['bench-shapes']),
    softmaxShapes: softmaxShapes(values['softmax-shapes']),
    bagShapes: bagShapes(values['bag-shapes']),
    ops: parseOps(values.ops),
    density,
    seed: integer('seed', values.seed, 0, 0xffffffff),
    backends,
    conformance: !values['no-conformance'],
    reps: integer('reps', values.reps, 1, Number.MAX_SAFE_INTEGER),
    budgetMs: integer('budget-ms', values['budget-ms'], 0, Number.MAX_SAFE_INTEGER),
    out: values.out,
  };
}

/** The benchmark settings the flags describe (forward and backward, every --bench-shapes). */
export function benchOptionsFrom(opts: CliOptions): Omit<BenchOptions, 'onProgress'> {
  return {
    shapes: opts.benchShapes,
    softmaxShapes: opts.softmaxShapes,
    bagShapes: opts.bagShapes,
    ops: opts.ops,
    density: opts.density,
    seed: opts.seed,
    reps: opts.reps,
    warmup: WARMUP,
    budgetMs: opts.budgetMs,
    backward: true,
  };
}

export interface DeepFMCliOptions {
  backends: string[];
  epochs: number;
  train: number;
  test: number;
  batchSize: number;
  seed: number;
  out: string;
}

/** The DeepFM CLI's flags (DEEPFM_USAGE); a bad value is a UsageError, as for the other CLIs. */
export function parseDeepFMCli(argv: string[]): DeepFMCliOptions {
  try {
    const { values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : argv,
      strict: true,
      allowPositionals: false,
      options: {
        backends: { type: 'string', default: DEEPFM_BACKENDS.join(',') },
        epochs: { type: 'string', default: String(DEEPFM_USAGE_DEFAULTS.epochs) },
        train: { type: 'string', default: String(DEEPFM_USAGE_DEFAULTS.train) },
        test: { type: 'string', default: String(DEEPFM_USAGE_DEFAULTS.test) },
        'batch-size': { type: 'string', default: String(DEEPFM_USAGE_DEFAULTS.batchSize) },
        seed: { type: 'string', default: String(DEEPFM_USAGE_DEFAULTS.seed) },
        out: { type: 'string', default: join(demoRoot, 'reports') },
      },
    });
    // Up to a million impressions: the data set lives in JS arrays and a browser tab.
    const size = (flag: string, text: string, min: number) => integer(flag, text, min, 1_000_000);
    return {
      backends: parseBackends(values.backends),
      epochs: integer('epochs', values.epochs, 1, 1000),
      train: size('train', values.train, 1),
      test: size('test', values.test, 100),
      batchSize: integer('batch-size', values['batch-size'], 1, 65_536),
      seed: integer('seed', values.seed, 0, 0xffffffff),
      out: values.out,
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
