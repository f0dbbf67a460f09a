import {
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from '@masked-ops/core';
import { compareWithReference, randomFloats, seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BAG_PADDING,
  type BenchRow,
  bagVariants,
  DEFAULT_BAG_SHAPES,
  DEFAULT_SOFTMAX_SHAPES,
  probeEstimateMs,
  runBench,
  segmentSumEstimateMs,
  softmaxVariants,
  timeInterleaved,
  userComposite,
} from '../src/bench.js';
import { useNodeBackend } from '../src/node/backends.js';
import { ALL_REDUCERS as ALL_OPS } from '../src/ops.js';
import { benchMarkdown } from '../src/report.js';
import {
  bagLabel,
  parseBagShapes,
  parseShapes,
  parseSoftmaxShapes,
  softmaxLabel,
} from '../src/shapes.js';

beforeAll(async () => {
  await useNodeBackend('cpu');
});

describe('runBench', () => {
  it('gives a row per selected op, shape and pass, with every field', async () => {
    const before = tf.memory().numTensors;
    const rows = await runBench({
      shapes: parseShapes('3x5x2,4x6:all'),
      ops: ['sum', 'max'],
      density: 0.5,
      seed: 1,
      reps: 1,
      warmup: 0,
      budgetMs: 0,
      backward: true,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.map((r) => `${r.op} ${r.shape} ${r.pass}`)).toEqual([
      'maskedSum [3,5,2] forward',
      'maskedSum [3,5,2] backward',
      'maskedMax [3,5,2] forward',
      'maskedMax [3,5,2] backward',
      'maskedSum [4,6]:all forward',
      'maskedSum [4,6]:all backward',
      'maskedMax [4,6]:all forward',
      'maskedMax [4,6]:all backward',
    ]);
    for (const r of rows) {
      expect(r.backend).toBe('cpu');
      expect(r.reducer).toBe(r.op === 'maskedSum' ? 'sum' : 'max');
      expect(r.unmasked).toBe(r.op === 'maskedSum' ? 'tf.sum' : 'tf.max');
      expect(['fused', 'composite']).toContain(r.kernel.split(' ')[0]);
      for (const k of ['fusedMs', 'compositeMs', 'unmaskedMs', 'fusedGBps'] as const) {
        expect(r[k]).toBeGreaterThan(0);
      }
      expect(r.vsComposite).toBeCloseTo(r.compositeMs / r.fusedMs, 10);
      expect(r.vsUnmasked).toBeCloseTo(r.unmaskedMs / r.fusedMs, 10);
      expect(r.reps).toEqual({ fused: 1, composite: 1, unmasked: 1 });
    }
    const md = benchMarkdown(rows as BenchRow[]);
    expect(md).toContain('### maskedSum');
    expect(md).toContain('| cpu | [4,6]:all |');
    expect(md).toContain('tf.max');
  });

  it('times logsumexp and moments (every output) against tf.logSumExp and tf.moments', async () => {
    const before = tf.memory().numTensors;
    const rows = await runBench({
      shapes: parseShapes('3x5x2,4x6:all'),
      ops: ['logsumexp', 'moments'],
      density: 0.5,
      seed: 2,
      reps: 2,
      warmup: 1,
      budgetMs: 1000,
      backward: true,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.map((r) => `${r.op} ${r.shape} ${r.pass}`)).toEqual([
      'maskedLogSumExp [3,5,2] forward',
      'maskedLogSumExp [3,5,2] backward',
      'maskedMoments [3,5,2] forward',
      'maskedMoments [3,5,2] backward',
      'maskedLogSumExp [4,6]:all forward',
      'maskedLogSumExp [4,6]:all backward',
      'maskedMoments [4,6]:all forward',
      'maskedMoments [4,6]:all backward',
    ]);
    for (const r of rows) {
      const lse = r.op === 'maskedLogSumExp';
      expect(r.backend).toBe('cpu');
      expect(r.reducer).toBe(lse ? 'logsumexp' : 'moments');
      expect(r.unmasked).toBe(lse ? 'tf.logSumExp' : 'tf.moments');
      expect(['fused', 'composite']).toContain(r.kernel.split(' ')[0]);
      for (const k of ['fusedMs', 'compositeMs', 'unmaskedMs', 'fusedGBps'] as const) {
        expect(r[k]).toBeGreaterThan(0);
      }
      expect(r.vsComposite).toBeCloseTo(r.compositeMs / r.fusedMs, 10);
      expect(r.vsUnmasked).toBeCloseTo(r.unmaskedMs / r.fusedMs, 10);
      expect(r.reps.fused).toBeGreaterThanOrEqual(1);
    }
    const md = benchMarkdown(rows);
    expect(md).toContain('### maskedLogSumExp');
    expect(md).toContain('### maskedMoments');
    expect(md).toContain('vs tf.moments');
  });

  it('stops a slow variant short of --reps once it used its budget, never below one run', async () => {
    const [row] = await runBench({
      shapes: parseShapes('3x5x2'),
      ops: ['mean'],
      density: 0.5,
      seed: 1,
      reps: 50,
      warmup: 1,
      budgetMs: 0,
      backward: false,
    });
    expect(row!.reps).toEqual({ fused: 1, composite: 1, unmasked: 1 });
  });
});

describe('timeInterleaved', () => {
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {}
  };
  it("interleaves the variants' timed runs after each one's warm-ups", async () => {
    const calls: string[] = [];
    const variant = (name: string) => () => {
      calls.push(name);
      return tf.scalar(0);
    };
    const timed = await timeInterleaved([variant('a'), variant('b'), variant('c')], {
      reps: 3,
      warmup: 1,
      budgetMs: 1000,
    });
    // The warm-ups, then three rounds.
    expect(calls.join('')).toBe('abcabcabcabc');
    expect(timed.map((t) => t.reps)).toEqual([3, 3, 3]);
  });
  it('times a variant whose first run takes the whole budget by that run, and the others on', async () => {
    const calls: string[] = [];
    const timed = await timeInterleaved(
      [
        () => {
          calls.push('fast');
          return tf.scalar(0);
        },
        () => {
          calls.push('slow');
          busy(30);
          return tf.scalar(0);
        },
      ],
      { reps: 2, warmup: 1, budgetMs: 20 },
    );
    expect(calls).toEqual(['fast', 'slow', 'fast', 'fast']);
    expect(timed[1]!.reps).toBe(1);
    expect(timed[1]!.ms).toBeGreaterThanOrEqual(30);
    expect(timed[0]!.reps).toBe(2);
  });
});

describe('runBench: the embedding bag', () => {
  const bagOptions = {
    shapes: parseShapes('3x5x2'),
    bagShapes: parseBagShapes('8x5:50x4,6x3:20x2'),
    density: 0.5,
    seed: 1,
    reps: 2,
    warmup: 1,
    budgetMs: 100,
    backward: true,
  };

  it('gives a row per bag shape and pass after the reductions, with every field', async () => {
    const before = tf.memory().numTensors;
    const steps: string[] = [];
    const rows = await runBench({
      ...bagOptions,
      ops: ['sum', 'embeddingBag'],
      onProgress: (done, total, step) => steps.push(`${done}/${total} ${step}`),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.map((r) => `${r.op} ${r.shape} ${r.pass}`)).toEqual([
      'maskedSum [3,5,2] forward',
      'maskedSum [3,5,2] backward',
      'embeddingBag ids [8,5], table [50,4] forward',
      'embeddingBag ids [8,5], table [50,4] backward',
      'embeddingBag ids [6,3], table [20,2] forward',
      'embeddingBag ids [6,3], table [20,2] backward',
    ]);
    expect(steps).toEqual([
      '0/6 maskedSum [3,5,2] forward',
      '1/6 maskedSum [3,5,2] backward',
      '2/6 embeddingBag ids [8,5], table [50,4] forward',
      '3/6 embeddingBag ids [8,5], table [50,4] backward',
      '4/6 embeddingBag ids [6,3], table [20,2] forward',
      '5/6 embeddingBag ids [6,3], table [20,2] backward',
      '6/6 done',
    ]);
    for (const r of rows.filter((r) => r.op === 'embeddingBag')) {
      expect(r.backend).toBe('cpu');
      expect(r.reducer).toBe('mean');
      expect(r.kernel).toBe('fused');
      expect(r.unmasked).toBe('tf.gather + tf.mean');
      expect(r.composite).toBe('tf.gather + maskedMean');
      expect(r.skipped).toBeUndefined();
      for (const k of ['fusedMs', 'compositeMs', 'unmaskedMs', 'fusedGBps'] as const) {
        expect(r[k]).toBeGreaterThan(0);
      }
      expect(r.vsComposite).toBeCloseTo(r.compositeMs / r.fusedMs, 10);
      expect(r.vsUnmasked).toBeCloseTo(r.unmaskedMs / r.fusedMs, 10);
      for (const n of Object.values(r.reps)) expect(n).toBeGreaterThanOrEqual(1);
    }
    const md = benchMarkdown(rows);
    expect(md).toContain('### maskedSum');
    expect(md).toContain('### embeddingBag');
    expect(md).toContain(
      '| fwd fused | tf.gather + maskedMean | tf.gather + tf.mean | vs two steps |',
    );
    expect(md).toContain('| cpu | ids [8,5], table [50,4] | fused |');
    expect(md).not.toContain('Not timed');
  });

  it("skips tfjs's gather gradient where it would take too long, saying why; times the rest", async () => {
    // segmentSumEstimateMs: on cpu, one segment's pass times the table's rows.
    const estimate = segmentSumEstimateMs(40, 4, 1000)!;
    expect(estimate).toBeGreaterThan(0);
    const rows = await runBench({ ...bagOptions, ops: ['embeddingBag'], slowCallMs: 0 });
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      if (r.pass === 'forward') {
        expect(r.skipped).toBeUndefined();
        continue;
      }
      expect(r.fusedMs).toBeGreaterThan(0);
      expect(r.reps).toEqual({ fused: r.reps.fused, composite: 0, unmasked: 0 });
      expect([r.compositeMs, r.unmaskedMs, r.vsComposite, r.vsUnmasked]).toEqual([
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
      ]);
      expect(r.skipped?.composite).toMatch(
        /^not run: tfjs-backend-cpu's UnsortedSegmentSum \(tf\.gather's gradient\) makes a pass per table row, ~[\d.]+ (s|min|h) per call/,
      );
      expect(r.skipped?.unmasked).toBe(r.skipped?.composite);
    }
    const md = benchMarkdown(rows);
    expect(md).toContain('| skipped | skipped | - | - |');
    expect(md).toContain(
      "Not timed:\n\n- cpu ids [8,5], table [50,4] fwd+bwd tf.gather + maskedMean: not run: tfjs-backend-cpu's",
    );
    // The GPU backends' probe (tables of 16, 32, ... rows) does not run on cpu.
    const shape = parseBagShapes('8x5:50x4')[0]!;
    const probe = await probeEstimateMs(
      (ids) => bagVariants(ids).unmasked,
      shape,
      new Int32Array(40),
      0,
    );
    expect(probe).toBeUndefined();
    expect(DEFAULT_BAG_SHAPES.map(bagLabel)).toEqual([
      'ids [1024,50], table [100000,16]',
      'ids [256,200], table [10000,64]',
    ]);
  });

  it('records a variant that throws (a backend without UnsortedSegmentSum) and goes on', async () => {
    const config = tf.getKernel('UnsortedSegmentSum', 'cpu')!;
    tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
    try {
      // (tfjs's engine keeps the tensors the forward pass saved for backprop when backprop throws,
      // a few per failed call: no tensor count is checked here.)
      const rows = await runBench({
        ...bagOptions,
        ops: ['embeddingBag'],
        bagShapes: parseBagShapes('8x5:50x4'),
      });
      const [forward, backward] = rows;
      expect(forward!.skipped).toBeUndefined();
      expect(backward!.fusedMs).toBeGreaterThan(0);
      expect(backward!.skipped?.composite).toMatch(/^failed: .*UnsortedSegmentSum/);
      expect(backward!.skipped?.unmasked).toMatch(/^failed: .*UnsortedSegmentSum/);
      expect(backward!.reps).toEqual({ fused: backward!.reps.fused, composite: 0, unmasked: 0 });
    } finally {
      tf.registerKernel(config);
    }
  });
});

describe('bagVariants', () => {
  // The two-step variant computes what the fused op computes, forward and for the table's
  // gradient; the stock one averages the padding row in (what users get without a mask).
  it('the two steps equal the fused bag; tf.gather + tf.mean counts the padding', async () => {
    const rand = seededRandom(4);
    const [batch, bagLen, vocab, dim] = [5, 4, 9, 3];
    const idsData = Int32Array.from({ length: batch * bagLen }, () =>
      rand() < BAG_PADDING * 2 ? 0 : 1 + Math.floor(rand() * (vocab - 1)),
    );
    idsData.fill(0, 0, bagLen); // an empty bag: zeros, and no gradient
    const ids = tf.tensor2d(idsData, [batch, bagLen], 'int32');
    const table = tf.tensor2d(randomFloats(rand, vocab * dim, -1, 1), [vocab, dim]);
    const dy = tf.tensor2d(randomFloats(rand, batch * dim, -1, 1), [batch, dim]);
    const v = bagVariants(ids);
    const before = tf.memory().numTensors;
    const [fused, composite, unmasked] = [v.fused(table), v.composite(table), v.unmasked(table)];
    expect(tf.memory().numTensors - before).toBe(3);
    const t = await table.array();
    const expectedMean: number[][] = [];
    const expectedUnmasked: number[][] = [];
    for (let b = 0; b < batch; b++) {
      const bag = Array.from(idsData.subarray(b * bagLen, (b + 1) * bagLen));
      const real = bag.filter((id) => id !== 0);
      expectedMean.push(
        Array.from({ length: dim }, (_, c) =>
          real.length ? real.reduce((a, id) => a + t[id]![c]!, 0) / real.length : 0,
        ),
      );
      expectedUnmasked.push(
        Array.from({ length: dim }, (_, c) => bag.reduce((a, id) => a + t[id]![c]!, 0) / bagLen),
      );
    }
    const close = (a: number[][], b: number[][]) => {
      expect(a.length).toBe(b.length);
      for (const [i, row] of a.entries()) {
        for (const [j, x] of row.entries()) expect(x).toBeCloseTo(b[i]![j]!, 5);
      }
    };
    const rowsOf = async (x: tf.Tensor) => (await x.array()) as number[][];
    close(await rowsOf(fused), expectedMean);
    close(await rowsOf(composite), expectedMean);
    close(await rowsOf(unmasked), expectedUnmasked);
    const grads = [v.fused, v.composite].map((f) => tf.grad((w: tf.Tensor) => f(w))(table, dy));
    close(await rowsOf(grads[0]!), await rowsOf(grads[1]!));
    // The padding row gets no gradient from the masked variants.
    expect((await rowsOf(grads[0]!))[0]).toEqual([0, 0, 0]);
    tf.dispose([ids, table, dy, fused, composite, unmasked, ...grads]);
  });
});

describe('userComposite', () => {
  // The composites the bench times must compute what the fused ops compute (on inputs without
  // NaN, where users' composites and the ops agree), forward and backward, output by output, or
  // the comparison would be meaningless.
  const outputsOf = { moments: 2 } as Record<string, number>;
  for (const op of ALL_OPS) {
    for (const shape of parseShapes('4x7x3,5x6:all')) {
      it(`${op} at ${shape.x}${shape.form === 'all' ? ':all' : ''} matches the float64 reference`, async () => {
        const rand = seededRandom(3);
        const xs = randomFloats(
          rand,
          shape.x.reduce((p, d) => p * d, 1),
        );
        const maskShape = shape.form === 'all' ? shape.x : shape.x.slice(0, 2);
        const m = Uint8Array.from({ length: maskShape.reduce((p, d) => p * d, 1) }, () =>
          rand() < 0.5 ? 1 : 0,
        );
        // An empty row, where sum, max, min and moments give 0 and logsumexp -Infinity; mean's
        // composite gives 0/0 = NaN there (the flaw the fused op fixes), so for mean every row
        // gets a valid element instead.
        const t = maskShape.at(-1)!;
        if (op === 'mean') for (let i = 0; i < m.length; i += t) m[i] = 1;
        else m.fill(0, 0, t);
        const broadcast = shape.form === 'all' ? shape.x : [...maskShape, 1];
        const x = tf.tensor(xs, shape.x);
        const maskF = tf.tensor(Float32Array.from(m), broadcast);
        const maskB = tf.tensor(m, broadcast, 'bool');
        const axis = shape.form === 'all' ? undefined : 1;
        const inputs = { x, mask: maskB, maskF, maskB, axis };
        const axes = shape.form === 'all' ? shape.x.map((_, i) => i) : [1];
        const before = tf.memory().numTensors;
        const ys = userComposite(op, inputs);
        expect(tf.memory().numTensors - before).toBe(ys.length);
        expect(ys).toHaveLength(outputsOf[op] ?? 1);
        for (const [k, y] of ys.entries()) {
          const label = `${op}[${k}] composite`;
          const ref = referenceMaskedReduce(op, xs, shape.x, m, maskShape, axes, false, k);
          expect(y.shape).toEqual(ref.shape);
          compareWithReference(`${label} forward`, await y.data(), ref);
          // The gradient the backward pass times: of this output alone, with a random dy.
          const dys = randomFloats(rand, y.size, -2, 2);
          const dy = tf.tensor(dys, y.shape);
          const dx = tf.grad((v: tf.Tensor) => {
            const outs = userComposite(op, { ...inputs, x: v });
            return outs[k]!;
          })(x, dy);
          const refDx = referenceMaskedReduceGrad(op, xs, dys, shape.x, m, maskShape, axes, k);
          compareWithReference(`${label} gradient`, await dx.data(), { values: refDx });
          tf.dispose([dy, dx]);
        }
        tf.dispose([x, maskF, maskB, ...ys]);
      });
    }
  }
});

describe('runBench: the masked softmaxes', () => {
  it('gives a row per softmax, shape and pass after the reductions, against tf.softmax / tf.logSoftmax', async () => {
    const before = tf.memory().numTensors;
    const rows = await runBench({
      shapes: parseShapes('3x5x2'),
      softmaxShapes: parseSoftmaxShapes('2x3x4x6:2x1x1x6,5x7:5x7'),
      ops: ['sum', 'softmax', 'logsoftmax'],
      density: 0.5,
      seed: 1,
      reps: 2,
      warmup: 1,
      budgetMs: 100,
      backward: true,
    });
    expect(tf.memory().numTensors).toBe(before);
    const shapes = ['logits [2,3,4,6], mask [2,1,1,6]', 'logits [5,7], mask [5,7]'];
    expect(rows.map((r) => `${r.op} ${r.shape} ${r.pass}`)).toEqual([
      'maskedSum [3,5,2] forward',
      'maskedSum [3,5,2] backward',
      ...shapes.flatMap((s) =>
        ['maskedSoftmax', 'maskedLogSoftmax'].flatMap((op) => [
          `${op} ${s} forward`,
          `${op} ${s} backward`,
        ]),
      ),
    ]);
    for (const r of rows.slice(2)) {
      const log = r.op === 'maskedLogSoftmax';
      expect(r.reducer).toBe(log ? 'logsoftmax' : 'softmax');
      expect(r.unmasked).toBe(log ? 'tf.logSoftmax' : 'tf.softmax');
      expect(r.composite).toBeUndefined();
      expect(['fused', 'composite']).toContain(r.kernel.split(' ')[0]);
      for (const k of ['fusedMs', 'compositeMs', 'unmaskedMs', 'fusedGBps'] as const) {
        expect(r[k]).toBeGreaterThan(0);
      }
      expect(r.vsComposite).toBeCloseTo(r.compositeMs / r.fusedMs, 10);
      expect(r.vsUnmasked).toBeCloseTo(r.unmaskedMs / r.fusedMs, 10);
    }
    const md = benchMarkdown(rows);
    expect(md).toContain('### maskedSoftmax');
    expect(md).toContain(
      '| fwd fused | composite | tf.logSoftmax | vs composite | vs tf.logSoftmax |',
    );
    expect(md).toContain('| cpu | logits [5,7], mask [5,7] |');
    expect(DEFAULT_SOFTMAX_SHAPES.map(softmaxLabel)).toEqual([
      'logits [8,12,128,128], mask [8,1,1,128]',
      'logits [64,4096], mask [64,4096]',
    ]);
  });
});

describe('softmaxVariants', () => {
  // The composite the bench times, where(any(mask), softmax(where(mask, x, -1e9)), 0), computes
  // what the op computes on finite logits: the probabilities, exact zeros at masked positions
  // (exp(-1e9 - max) is 0 in float32) and on empty rows; log-softmax about -1e9 where the op
  // gives -Infinity. Its gradient is the op's for a cotangent that is 0 at masked positions (a
  // loss over the real positions): elsewhere the composite's masked outputs, -1e9 - logsumexp,
  // carry gradient to the valid logits, which the op's constant -Infinity does not.
  for (const op of ['softmax', 'logsoftmax'] as const) {
    for (const [logitsShape, maskShape] of [
      [
        [3, 2, 4, 6],
        [3, 1, 1, 6],
      ],
      [
        [5, 7],
        [5, 7],
      ],
    ]) {
      it(`${op}: logits [${logitsShape}], mask [${maskShape}] match the float64 reference`, async () => {
        const rand = seededRandom(9);
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const logits = randomFloats(rand, size(logitsShape!), -4, 4);
        const mask = Array.from({ length: size(maskShape!) }, () => (rand() < 0.6 ? 1 : 0));
        mask.fill(0, 0, maskShape!.at(-1)!); // an empty row (a batch without a real key)
        const input = {
          logits,
          logitsShape: logitsShape!,
          mask,
          maskShape: maskShape!,
          axis: logitsShape!.length - 1,
          log: op === 'logsoftmax',
        };
        const ref = referenceMaskedSoftmax(input);
        const masked = (i: number) => ref.counts[i] === 0 && ref.values[i] !== 0;
        const dys = randomFloats(rand, logits.length, -1, 1).map((d, i) => (masked(i) ? 0 : d));
        const x = tf.tensor(logits, logitsShape);
        const m = tf.tensor(mask, maskShape, 'bool');
        const dy = tf.tensor(dys, logitsShape);
        const before = tf.memory().numTensors;
        const y = softmaxVariants(op, m).composite(x);
        expect(tf.memory().numTensors - before).toBe(1);
        const values = Array.from(await y.data());
        if (op === 'logsoftmax') {
          for (const [i, v] of values.entries()) {
            if (!masked(i)) continue;
            expect(v).toBeLessThan(-1e8);
            values[i] = Number.NEGATIVE_INFINITY;
          }
        }
        compareWithReference(`${op} composite forward`, values, ref);
        const dx = tf.grad((v: tf.Tensor) => softmaxVariants(op, m).composite(v))(x, dy);
        compareWithReference(
          `${op} composite gradient`,
          await dx.data(),
          referenceMaskedSoftmaxGrad(input, dys),
        );
        tf.dispose([x, m, dy, y, dx]);
      });
    }
  }
});
