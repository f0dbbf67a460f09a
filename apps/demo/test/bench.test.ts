import { referenceMaskedReduce, referenceMaskedReduceGrad } from '@masked-ops/core';
import { compareWithReference, randomFloats, seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BenchRow, runBench, userComposite } from '../src/bench.js';
import { useNodeBackend } from '../src/node/backends.js';
import { ALL_OPS } from '../src/ops.js';
import { benchMarkdown } from '../src/report.js';
import { parseShapes } from '../src/shapes.js';

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
