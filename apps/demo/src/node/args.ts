import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions } from '../bench.js';
import { parseShapes } from '../shapes.js';
import { demoRoot } from './paths.js';

export const ALL_BACKENDS = [
  'node:cpu',
  'node:wasm',
  'chromium:cpu',
  'chromium:wasm',
  'chromium:webgl',
] as const;

export interface CliOptions {
  shapes: number[][];
  benchShapes: number[][];
  density: number;
  seed: number;
  backends: string[];
  conformance: boolean;
  reps: number;
  out: string;
}

export function parseCli(
  argv: string[],
  defaults: { benchShapes: string; reps: number; usage: string },
): CliOptions {
  const { values } = parseArgs({
    // `pnpm demo -- --flag` passes the `--` through.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      shapes: { type: 'string', default: '64x50x16,8x1000x8' },
      'bench-shapes': { type: 'string', default: defaults.benchShapes },
      density: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      backends: { type: 'string', default: ALL_BACKENDS.join(',') },
      'no-conformance': { type: 'boolean', default: false },
      reps: { type: 'string', default: String(defaults.reps) },
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
  return {
    shapes: parseShapes(values.shapes),
    benchShapes: parseShapes(values['bench-shapes']),
    density,
    seed: Number(values.seed),
    backends,
    conformance: !values['no-conformance'],
    reps: Number(values.reps),
    out: values.out,
  };
}

export const COMMON_USAGE = `
  --shapes BxTxF,...        matrix cases of your own (mask [B,T], axis 1 and [0,1]); default 64x50x16,8x1000x8
  --bench-shapes BxTxF,...  shapes to time
  --density D               fraction of valid time steps, 0..1 (default 0.5)
  --seed N                  seed of the generated inputs (default 1)
  --backends LIST           any of ${ALL_BACKENDS.join(',')} (default: all)
  --reps N                  timed repetitions per variant; the median is reported
  --out DIR                 where report files go (default: apps/demo/reports)
  CHROMIUM_PATH=...         use this Chromium instead of the one from @sparticuz/chromium`;

/** Warm-up runs before timing: the first calls compile shaders and grow heaps. */
export const WARMUP = 3;

/** The benchmark settings the flags describe (forward and backward, every --bench-shapes). */
export function benchOptionsFrom(opts: CliOptions): Omit<BenchOptions, 'onProgress'> {
  return {
    shapes: opts.benchShapes.map(([batch, time, features]) => ({
      batch: batch!,
      time: time!,
      features: features!,
    })),
    density: opts.density,
    seed: opts.seed,
    reps: opts.reps,
    warmup: WARMUP,
    backward: true,
  };
}
