import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, benchOptionsFrom, parseCli, UsageError } from '../src/node/args.js';
import { parseOps } from '../src/ops.js';
import { parseShapes } from '../src/shapes.js';

const defaults = {
  benchShapes: '256x200x64,4096x4096:all',
  reps: 3,
  budgetMs: 500,
  backends: ALL_BACKENDS,
};

describe('--ops', () => {
  it('takes reducer names, op names and "all", in the table order, each once', () => {
    expect(parseOps('sum,mean,max,min')).toEqual(['sum', 'mean', 'max', 'min']);
    expect(parseOps('min,maskedSum')).toEqual(['sum', 'min']);
    expect(parseOps('maskedMax, max ,maskedMax')).toEqual(['max']);
    expect(parseOps('all')).toEqual(['sum', 'mean', 'max', 'min', 'logsumexp', 'moments']);
    expect(parseOps('moments,logsumexp')).toEqual(['logsumexp', 'moments']);
    expect(parseOps('maskedMoments;maskedLogSumExp sum')).toEqual(['sum', 'logsumexp', 'moments']);
  });

  it('rejects an unknown op, naming it and what is accepted', () => {
    expect(() => parseOps('sum,avg')).toThrow(
      'unknown op "avg" in --ops; expected any of sum, mean, max, min, logsumexp, moments (or maskedSum, maskedMean, maskedMax, maskedMin, maskedLogSumExp, maskedMoments, or all)',
    );
    expect(() => parseOps('Sum')).toThrow(/unknown op "Sum"/);
    // tfjs's spellings of the unmasked ops are not the masked ops' names.
    expect(() => parseOps('logSumExp')).toThrow(/unknown op "logSumExp"/);
    expect(() => parseOps('maskedLogsumexp')).toThrow(/unknown op "maskedLogsumexp"/);
    expect(() => parseOps(' , ')).toThrow(/--ops is empty/);
  });

  it('reaches the matrix and the bench through the CLI flags', () => {
    const opts = parseCli(['--', '--ops', 'maskedMin,mean'], defaults);
    expect(opts.ops).toEqual(['mean', 'min']);
    expect(benchOptionsFrom(opts).ops).toEqual(['mean', 'min']);
    const added = parseCli(['--ops', 'moments,maskedLogSumExp'], defaults);
    expect(benchOptionsFrom(added).ops).toEqual(['logsumexp', 'moments']);
    expect(parseCli([], defaults).ops).toEqual([
      'sum',
      'mean',
      'max',
      'min',
      'logsumexp',
      'moments',
    ]);
  });

  it('turns a bad flag value into a UsageError with the message alone', () => {
    const bad = (argv: string[]) => {
      try {
        parseCli(argv, defaults);
      } catch (err) {
        return err;
      }
      throw new Error(`${argv} was accepted`);
    };
    const e = bad(['--ops', 'median']);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/^unknown op "median" in --ops; expected any of sum/);
    expect(bad(['--reps', '0'])).toBeInstanceOf(UsageError);
    expect(bad(['--bench-shapes', '4x4:any'])).toBeInstanceOf(UsageError);
    expect(bad(['--opz', 'sum'])).toBeInstanceOf(UsageError);
  });
});

describe('shapes', () => {
  it('reads BxTxF (pool over time) and D1xD2...:all (every axis, full mask)', () => {
    expect(parseShapes('256x200x64, 4096x4096:all')).toEqual([
      { x: [256, 200, 64], form: 'pool' },
      { x: [4096, 4096], form: 'all' },
    ]);
    expect(parseShapes('2x3x4x5:all')).toEqual([{ x: [2, 3, 4, 5], form: 'all' }]);
    expect(benchOptionsFrom(parseCli([], defaults)).shapes).toHaveLength(2);
  });

  it('rejects anything else, saying what is expected', () => {
    for (const bad of ['4x4', '4x4x4x4', '4x4:any', '4xx4x4', '4x-1x4', '4x4:all:all', ':all']) {
      expect(() => parseShapes(bad)).toThrow(/expected BxTxF .* or D1xD2\.\.\.:all/);
    }
  });
});
