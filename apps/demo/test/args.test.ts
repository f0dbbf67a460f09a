import { describe, expect, it } from 'vitest';
import {
  ALL_BACKENDS,
  benchOptionsFrom,
  parseCli,
  parseDeepFMCli,
  UsageError,
} from '../src/node/args.js';
import { DEEPFM_USAGE_DEFAULTS } from '../src/node/usage.js';
import { matrixOpsOf, parseOps, reducersOf, softmaxesOf } from '../src/ops.js';
import {
  bagLabel,
  parseBagShapes,
  parseShapes,
  parseSoftmaxShapes,
  softmaxLabel,
} from '../src/shapes.js';

const defaults = {
  benchShapes: '256x200x64,4096x4096:all',
  softmaxShapes: '64x4096:64x4096',
  bagShapes: '1024x50:100000x16',
  reps: 3,
  budgetMs: 500,
  backends: ALL_BACKENDS,
};

describe('--ops', () => {
  it('takes reducer names, op names and "all", in the table order, each once', () => {
    expect(parseOps('sum,mean,max,min')).toEqual(['sum', 'mean', 'max', 'min']);
    expect(parseOps('min,maskedSum')).toEqual(['sum', 'min']);
    expect(parseOps('maskedMax, max ,maskedMax')).toEqual(['max']);
    expect(parseOps('all')).toEqual([
      'sum',
      'mean',
      'max',
      'min',
      'logsumexp',
      'moments',
      'softmax',
      'logsoftmax',
      'embeddingBag',
    ]);
    expect(parseOps('moments,logsumexp')).toEqual(['logsumexp', 'moments']);
    expect(parseOps('maskedMoments;maskedLogSumExp sum')).toEqual(['sum', 'logsumexp', 'moments']);
  });

  it('takes the embedding bag as embeddingBag or bag, after the reductions', () => {
    expect(parseOps('bag')).toEqual(['embeddingBag']);
    expect(parseOps('embeddingBag,max')).toEqual(['max', 'embeddingBag']);
    expect(parseOps('bag embeddingBag')).toEqual(['embeddingBag']);
    // The matrix and the page's picker take the reductions alone.
    expect(reducersOf(parseOps('all'))).toEqual([
      'sum',
      'mean',
      'max',
      'min',
      'logsumexp',
      'moments',
    ]);
    expect(reducersOf(parseOps('bag'))).toEqual([]);
    expect(() => parseOps('Bag')).toThrow(/unknown op "Bag"/);
    expect(() => parseOps('maskedEmbeddingBag')).toThrow(/unknown op "maskedEmbeddingBag"/);
  });

  it('rejects an unknown op, naming it and what is accepted', () => {
    expect(() => parseOps('sum,avg')).toThrow(
      'unknown op "avg" in --ops; expected any of sum, mean, max, min, logsumexp, moments, softmax, logsoftmax (or maskedSum, maskedMean, maskedMax, maskedMin, maskedLogSumExp, maskedMoments, maskedSoftmax, maskedLogSoftmax), embeddingBag (or bag), or all',
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
      'softmax',
      'logsoftmax',
      'embeddingBag',
    ]);
    const bag = benchOptionsFrom(parseCli(['--ops', 'bag', '--bag-shapes', '8x5:50x4'], defaults));
    expect(bag.ops).toEqual(['embeddingBag']);
    expect(bag.bagShapes).toEqual([{ batch: 8, bagLen: 5, vocab: 50, dim: 4 }]);
    expect(benchOptionsFrom(parseCli([], defaults)).bagShapes).toEqual([
      { batch: 1024, bagLen: 50, vocab: 100000, dim: 16 },
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
    expect(bad(['--ops', 'bags'])).toBeInstanceOf(UsageError);
    expect(bad(['--bag-shapes', '8x5x4'])).toBeInstanceOf(UsageError);
  });
});

describe('the softmaxes in --ops and --softmax-shapes', () => {
  it('takes softmax and logsoftmax (or the op names) after the reductions, before the bag', () => {
    expect(parseOps('bag,maskedLogSoftmax,softmax,sum')).toEqual([
      'sum',
      'softmax',
      'logsoftmax',
      'embeddingBag',
    ]);
    const all = parseOps('all');
    expect(matrixOpsOf(all)).toEqual(all.slice(0, -1));
    expect(softmaxesOf(all)).toEqual(['softmax', 'logsoftmax']);
    expect(reducersOf(parseOps('softmax'))).toEqual([]);
    // tfjs's spelling is not the demo's name.
    expect(() => parseOps('logSoftmax')).toThrow(/unknown op "logSoftmax"/);
  });

  it('reads LOGITS:MASK with a mask that broadcasts to the logits, and labels it', () => {
    const shapes = parseSoftmaxShapes('8x12x128x128:8x1x1x128, 64x4096:64x4096 4x5:5');
    expect(shapes).toEqual([
      { logits: [8, 12, 128, 128], mask: [8, 1, 1, 128] },
      { logits: [64, 4096], mask: [64, 4096] },
      { logits: [4, 5], mask: [5] },
    ]);
    expect(softmaxLabel(shapes[0]!)).toBe('logits [8,12,128,128], mask [8,1,1,128]');
    const opts = benchOptionsFrom(parseCli(['--softmax-shapes', '2x3:1x3'], defaults));
    expect(opts.softmaxShapes).toEqual([{ logits: [2, 3], mask: [1, 3] }]);
    expect(benchOptionsFrom(parseCli([], defaults)).softmaxShapes).toEqual([
      { logits: [64, 4096], mask: [64, 4096] },
    ]);
  });

  it('rejects a mask that does not broadcast, a missing mask, zero sizes, too many logits', () => {
    for (const bad of ['8x4', '8x4:4x4', '8x4:8x4x1', '8x0:8x0', '8x4:', 'x4:4', '8x4:4:4']) {
      expect(() => parseSoftmaxShapes(bad), bad).toThrow(/expected LOGITS:MASK/);
    }
    expect(() => parseCli(['--softmax-shapes', ','], defaults)).toThrow(
      '--softmax-shapes is empty',
    );
    expect(() => parseCli(['--softmax-shapes', '10000x10000:1'], defaults)).toThrow(
      /has 100000000 logits, more than the 67108864/,
    );
  });
});

describe('--bag-shapes', () => {
  it('reads BxL:VxD (ids [B,L] into a table [V,D]) and labels it', () => {
    const shapes = parseBagShapes('1024x50:100000x16, 256x200:10000x64');
    expect(shapes).toEqual([
      { batch: 1024, bagLen: 50, vocab: 100000, dim: 16 },
      { batch: 256, bagLen: 200, vocab: 10000, dim: 64 },
    ]);
    expect(shapes.map(bagLabel)).toEqual([
      'ids [1024,50], table [100000,16]',
      'ids [256,200], table [10000,64]',
    ]);
  });

  it('rejects anything else, saying what is expected', () => {
    for (const bad of ['8x5', '8x5:50', '8x5x4:50x4', '0x5:50x4', '8x5:1x4', '8x5:50x0', 'bag']) {
      expect(() => parseBagShapes(bad)).toThrow(/expected BxL:VxD/);
    }
    const err = (argv: string[]) => {
      try {
        parseCli(argv, defaults);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(err(['--bag-shapes', ','])).toBe('--bag-shapes is empty');
    expect(err(['--bag-shapes', '8x5:100000000x16'])).toMatch(/more than the 67108864/);
  });
});

describe('--backends', () => {
  it('takes chromium:webgpu alone or with others, each once; all is every runtime', () => {
    expect(parseCli(['--backends', 'chromium:webgpu'], defaults).backends).toEqual([
      'chromium:webgpu',
    ]);
    expect(
      parseCli(['--backends', 'node:cpu, chromium:webgpu,chromium:webgpu'], defaults).backends,
    ).toEqual(['node:cpu', 'chromium:webgpu']);
    expect(parseCli(['--backends', 'all'], defaults).backends).toEqual([
      'node:cpu',
      'node:wasm',
      'chromium:cpu',
      'chromium:wasm',
      'chromium:webgl',
      'chromium:webgpu',
    ]);
    // A Node process has no WebGPU: only the browser runtime exists.
    expect(() => parseCli(['--backends', 'node:webgpu'], defaults)).toThrow(
      /^unknown backend\(s\) node:webgpu; expected any of .*chromium:webgl, chromium:webgpu, or all$/,
    );
  });
});

describe('the DeepFM CLI flags', () => {
  it('defaults to the Node backends and the example defaults', () => {
    const o = parseDeepFMCli([]);
    expect(o.backends).toEqual(['node:cpu', 'node:wasm']);
    expect({
      epochs: o.epochs,
      train: o.train,
      test: o.test,
      batchSize: o.batchSize,
      seed: o.seed,
    }).toEqual(DEEPFM_USAGE_DEFAULTS);
    const p = parseDeepFMCli([
      '--',
      '--backends',
      'chromium:webgl',
      '--epochs',
      '2',
      '--batch-size',
      '32',
    ]);
    expect([p.backends, p.epochs, p.batchSize]).toEqual([['chromium:webgl'], 2, 32]);
  });

  it('turns a bad value into a UsageError naming the flag', () => {
    const cases: [string[], string][] = [
      [['--epochs', '0'], '--epochs must be an integer in [1, 1000], got "0"'],
      [['--train', 'many'], '--train must be a number, got "many"'],
      [['--test', '10'], '--test must be an integer in [100, 1000000], got "10"'],
      [['--batch-size', '1.5'], '--batch-size must be an integer in [1, 65536], got "1.5"'],
      [['--backends', 'gpu'], 'unknown backend(s) gpu'],
      [['--ops', 'sum'], "Unknown option '--ops'"],
    ];
    for (const [argv, message] of cases) {
      let error: unknown;
      try {
        parseDeepFMCli(argv);
      } catch (e) {
        error = e;
      }
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain(message);
    }
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
