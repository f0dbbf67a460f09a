// The CLIs as a user runs them (the built dist/, which turbo builds before the tests): -h/--help
// answer at once without running anything, and every bad flag value stops the CLI with a
// message that names the flag, and exit code 2, before any backend starts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MASKED_REDUCTIONS, MASKED_SOFTMAXES } from '@masked-ops/core';
import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, parseCli, UsageError } from '../src/node/args.js';
import {
  BENCH_DEFAULTS,
  DEMO_DEFAULTS,
  OP_NAMES_IN_USAGE,
  OPS_IN_USAGE,
  UNMASKED_IN_USAGE,
} from '../src/node/usage.js';
import { ALL_OPS } from '../src/ops.js';

const dist = join(import.meta.dirname, '..', 'dist', 'node');

function cli(script: 'cli.js' | 'bench-cli.js' | 'deepfm-cli.js', args: string[]) {
  const start = performance.now();
  const r = spawnSync(process.execPath, [join(dist, script), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - start };
}

describe('-h and --help', () => {
  for (const script of ['cli.js', 'bench-cli.js', 'deepfm-cli.js'] as const) {
    for (const flag of ['-h', '--help']) {
      it(`${script} ${flag} prints the usage at once and runs nothing`, () => {
        const r = cli(script, [flag]);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^usage: node apps\/demo\/dist\/node\//);
        expect(r.out).toContain(script === 'deepfm-cli.js' ? '--batch-size N' : '--budget-ms MS');
        // Nothing ran: no progress lines, no tfjs banner. The time bound is loose (a loaded
        // machine) but a --help that imported tfjs, Vite and Playwright would be far slower.
        expect(r.out).not.toMatch(/^\[\s*[\d.]+s\]|TensorFlow\.js/m);
        expect(r.ms).toBeLessThan(3000);
      });
    }
  }
  it('--help after a pnpm "--" and among other flags', () => {
    const r = cli('bench-cli.js', ['--', '--ops', 'max', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: node apps/demo/dist/node/bench-cli.js');
  });

  it("the usage lists core's ops and the defaults the CLIs use", () => {
    expect([...OPS_IN_USAGE]).toEqual([...ALL_OPS]);
    const rows = [...MASKED_REDUCTIONS, ...MASKED_SOFTMAXES];
    expect([...OP_NAMES_IN_USAGE]).toEqual(rows.map((r) => r.op));
    expect([...UNMASKED_IN_USAGE]).toEqual(rows.map((r) => r.unmasked));
    const r = cli('bench-cli.js', ['-h']);
    expect(r.out).toContain('any of sum,mean,max,min,logsumexp,moments,softmax,logsoftmax');
    expect(r.out).toContain('maskedMoments,maskedSoftmax,maskedLogSoftmax),');
    expect(r.out).toContain('tf.moments, tf.softmax, tf.logSoftmax)');
    expect(r.out).toContain(
      `--softmax-shapes SHAPES   the masked softmaxes' shapes to time (default ${BENCH_DEFAULTS.softmaxShapes})`,
    );
    expect(r.out).toContain(`(default ${BENCH_DEFAULTS.budgetMs}`);
    expect(r.out).toContain(`default: ${BENCH_DEFAULTS.backends.join(',')}`);
    expect(cli('cli.js', ['-h']).out).toContain('default: all)');
    expect(r.out).toContain('chromium:webgl,chromium:webgpu, or all');
    expect(r.out).toContain('embeddingBag (or bag; timed only, on --bag-shapes)');
    expect(r.out).toContain(`(default ${BENCH_DEFAULTS.bagShapes})`);
    expect(r.out).toContain('tf.gather + maskedMean and tf.gather + tf.mean');
  });

  it('the DeepFM CLI stops a bad flag with exit code 2 and the message alone', () => {
    const r = cli('deepfm-cli.js', ['--epochs', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: --epochs must be an integer in [1, 1000], got "0"');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });
});

/** [args, message]: each must stop both CLIs with that message and exit code 2. */
const BAD: [string[], string][] = [
  [['--seed', 'abc'], '--seed must be a number, got "abc"'],
  [['--seed', '1.5'], '--seed must be an integer in [0, 4294967295], got "1.5"'],
  [['--seed', ''], '--seed must be a number, got ""'],
  [['--reps', '0'], '--reps must be an integer >= 1, got "0"'],
  [['--reps', 'many'], '--reps must be a number, got "many"'],
  [['--density', '2'], '--density must be a number in [0, 1], got "2"'],
  [['--density', 'half'], '--density must be a number, got "half"'],
  [['--budget-ms=-5'], '--budget-ms must be an integer >= 0, got "-5"'],
  [['--budget-ms', '1e999'], '--budget-ms must be a number, got "1e999"'],
  [['--opz', 'sum'], "Unknown option '--opz'"],
  [['sum'], "Unexpected argument 'sum'"],
  [['--ops', 'median'], 'unknown op "median" in --ops; expected any of sum, mean, max, min'],
  [['--bench-shapes', '4x4'], 'bad shape "4x4": expected BxTxF'],
  [['--softmax-shapes', '4x4:3'], 'bad softmax shape "4x4:3": expected LOGITS:MASK'],
  [['--shapes', '4x-1x4'], 'bad shape "4x-1x4"'],
  [['--bench-shapes', ','], '--bench-shapes is empty'],
  [['--bench-shapes', '100000x100000:all'], 'has 10000000000 elements, more than the 67108864'],
  [['--backends', 'gpu'], 'unknown backend(s) gpu; expected any of node:cpu'],
  [['--density'], "Option '--density <value>' argument missing"],
];

describe('bad flag values', () => {
  it.each(BAD)('%j: a UsageError with its message', (args, message) => {
    for (const defaults of [DEMO_DEFAULTS, BENCH_DEFAULTS]) {
      let error: unknown;
      try {
        parseCli(args, defaults);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain(message);
    }
  });

  // A few through the real processes (each spawn loads tfjs-core for the op table: seconds on a
  // loaded machine); the table above covers every value through the same parser.
  it('stop each CLI with the message alone (no stack) and exit code 2, before any backend', () => {
    for (const [args, message] of BAD.filter(([a]) =>
      ['--seed', '--reps', '--density', '--opz', '--bench-shapes'].includes(a[0]!.split('=')[0]!),
    ).slice(0, 3)) {
      for (const script of ['cli.js', 'bench-cli.js'] as const) {
        const r = cli(script, args);
        expect(r.code, `${script} ${args.join(' ')}`).toBe(2);
        expect(r.err).toContain(`error: ${message}`);
        expect(r.err).toContain('(--help lists the options)');
        expect(r.err).not.toMatch(/\n\s+at /);
        expect(r.out).not.toMatch(/^\[\s*[\d.]+s\]/m);
      }
    }
  });

  it('accepts the documented forms', () => {
    const o = parseCli(
      ['--', '--seed', '4294967295', '--density', '0', '--backends', 'all', '--budget-ms', '0'],
      BENCH_DEFAULTS,
    );
    expect(o.seed).toBe(4294967295);
    expect(o.density).toBe(0);
    expect(o.backends).toEqual([...ALL_BACKENDS]);
    expect(o.budgetMs).toBe(0);
    expect(parseCli([], BENCH_DEFAULTS).backends).not.toContain('chromium:cpu');
    expect(parseCli([], BENCH_DEFAULTS).backends).toContain('chromium:webgpu');
    expect(parseCli([], DEMO_DEFAULTS).backends).toEqual([...ALL_BACKENDS]);
  });
});
