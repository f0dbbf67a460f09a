import {
  type ReducerName,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from '@masked-ops/core';
import {
  type ConformanceCase,
  caseGradReference,
  caseReference,
  compareWithReference,
  type SoftmaxCase,
  softmaxCases,
} from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildMatrix,
  type CaseResult,
  type MatrixRun,
  type MatrixSpec,
  matrixRuns,
  runCases,
  runMatrix,
} from '../src/matrix.js';
import { useNodeBackend } from '../src/node/backends.js';
import { ALL_OPS, ALL_REDUCERS, parseOps, type SoftmaxName } from '../src/ops.js';
import { matrixFailures, matrixMarkdown } from '../src/report.js';
import { parseShapes } from '../src/shapes.js';

const spec: MatrixSpec = {
  shapes: parseShapes('3x5x2,4x3:all'),
  density: 0.6,
  seed: 7,
  conformance: false,
  ops: [...ALL_REDUCERS],
};
const runs = matrixRuns(spec) as { op: ReducerName; case: ConformanceCase }[];

/** Every output the matrix must show, in order: the op, or the op and its output's name. */
const OUTPUTS: { op: ReducerName; k: number; label: string; exact: boolean; empty: number }[] = [
  { op: 'sum', k: 0, label: 'maskedSum', exact: false, empty: 0 },
  { op: 'mean', k: 0, label: 'maskedMean', exact: false, empty: 0 },
  { op: 'max', k: 0, label: 'maskedMax', exact: true, empty: 0 },
  { op: 'min', k: 0, label: 'maskedMin', exact: true, empty: 0 },
  {
    op: 'logsumexp',
    k: 0,
    label: 'maskedLogSumExp',
    exact: false,
    empty: Number.NEGATIVE_INFINITY,
  },
  { op: 'moments', k: 0, label: 'maskedMoments.mean', exact: false, empty: 0 },
  { op: 'moments', k: 1, label: 'maskedMoments.variance', exact: false, empty: 0 },
];

/** A perfect float32 backend: the independent float64 references rounded to float32. */
function perfect(of: { op: ReducerName; case: ConformanceCase }[] = runs): CaseResult[] {
  return of.map(({ op, case: c }) => {
    const outputs = OUTPUTS.filter((o) => o.op === op).map(({ k }) => {
      const y = caseReference(op, c, k);
      const dx = caseGradReference(op, c, k);
      return { y: Array.from(Float32Array.from(y.values)), dx: Array.from(Float32Array.from(dx)) };
    });
    return { op, name: c.name, outputs };
  });
}

/** The index of the first run of `op`. */
const firstRunOf = (op: string, of: MatrixRun[] = runs): number => of.findIndex((r) => r.op === op);
const cellsOf = (m: ReturnType<typeof buildMatrix>, label: string) =>
  m.ops.find((o) => o.label === label)!;
/** An element of a finite, non-zero value (a slice with valid elements). */
const finiteNonZero = (values: number[]): number =>
  values.findIndex((v) => v !== 0 && Number.isFinite(v));

describe('matrixRuns', () => {
  it('runs every selected op on every case, op by op', () => {
    expect(ALL_OPS).toEqual([
      'sum',
      'mean',
      'max',
      'min',
      'logsumexp',
      'moments',
      'softmax',
      'logsoftmax',
    ]);
    expect(ALL_REDUCERS).toEqual(ALL_OPS.slice(0, 6));
    // 2 shapes x 2 axis variants, for each of the 6 ops.
    expect(runs.map((r) => r.op)).toEqual(ALL_REDUCERS.flatMap((op) => new Array(4).fill(op)));
    expect(runs.filter((r) => r.op === 'moments').map((r) => r.case.name)).toEqual([
      '[3,5,2] density 0.6 axis 1',
      '[3,5,2] density 0.6 axis [0,1] keepDims',
      '[4,3]:all density 0.6 axis default',
      '[4,3]:all density 0.6 axis [0,1] keepDims',
    ]);
    const loss = runs.find((r) => r.case.name.startsWith('[4,3]:all'))!.case;
    expect(loss.maskShape).toEqual([4, 3]);
    expect(loss.axis).toBeUndefined();
    expect(matrixRuns({ ...spec, ops: ['min'] }).every((r) => r.op === 'min')).toBe(true);
  });

  it('runs every shared conformance case for every op', () => {
    const all = matrixRuns({ ...spec, conformance: true });
    const names = (op: string) => all.filter((r) => r.op === op).map((r) => r.case.name);
    expect(names('sum').length).toBeGreaterThan(150);
    expect(names('sum')).toContain(
      'time of 100,000, constant 1.1: [1,100000,4] mask [1,100000] axis 1',
    );
    expect(names('moments')).toContain(
      'large offset, tiny spread: 1e4 + noise of ±0.1, [4,300,3] mask [4,300] axis 1',
    );
    for (const op of ALL_REDUCERS) expect(names(op)).toEqual(names('sum'));
  });
});

describe('buildMatrix', () => {
  it('passes backends that agree with the reference: one matrix per output of every op', () => {
    const m = buildMatrix(runs, { a: perfect(), b: perfect() });
    expect(m.ops.map((o) => o.label)).toEqual(OUTPUTS.map((o) => o.label));
    expect(m.ops.map((o) => `${o.op} ${o.output}`).slice(-3)).toEqual([
      'maskedLogSumExp y',
      'maskedMoments mean',
      'maskedMoments variance',
    ]);
    for (const om of m.ops) {
      expect(om.cases).toBe(4);
      expect(om.reference['a']!.pass).toBe(true);
      expect(om.reference['a']!.checked).toBeGreaterThan(0);
      expect(om.pairs['a|b']!.pass).toBe(true);
    }
    expect(matrixFailures(m)).toEqual([]);
    const md = matrixMarkdown(m);
    expect(md).toContain('### maskedMin (4 cases)');
    expect(md).toContain('### maskedLogSumExp (4 cases)');
    expect(md).toContain('### maskedMoments.variance (4 cases)');
  });

  for (const target of OUTPUTS) {
    it(`fails ${target.label} alone when a backend is off by more than the bound, and every pair with it`, () => {
      const bad = perfect();
      const i = firstRunOf(target.op);
      // 1e-2 is far outside the bound of these small values (1e-5 * (1 + scale) * log factor,
      // exact for max/min); pick an output element with valid elements.
      const y = bad[i]!.outputs[target.k]!.y;
      y[finiteNonZero(y)]! += 0.01;
      const m = buildMatrix(runs, { good: perfect(), bad });
      for (const other of OUTPUTS) {
        const om = cellsOf(m, other.label);
        expect(om.reference['good']!.pass).toBe(true);
        expect(om.reference['bad']!.pass, other.label).toBe(other !== target);
        expect(om.pairs['good|bad']!.pass, other.label).toBe(other !== target);
      }
      const failing = cellsOf(m, target.label);
      expect(failing.reference['bad']!.failures).toBe(1);
      expect(failing.pairs['good|bad']!.maxAbsDiff).toBeCloseTo(0.01, 6);
      expect(matrixFailures(m)).toHaveLength(2);
      expect(matrixFailures(m)[0]).toMatch(
        new RegExp(`^${target.label.replace('.', '\\.')} bad vs`),
      );
    });
  }

  it('fails a wrong gradient of one output only (moments: mean and variance separately)', () => {
    for (const target of OUTPUTS.filter((o) => o.op === 'moments')) {
      const bad = perfect();
      const dx = bad[firstRunOf('moments')]!.outputs[target.k]!.dx;
      dx[finiteNonZero(dx)]! += 0.01;
      const m = buildMatrix(runs, { bad });
      for (const other of OUTPUTS) {
        expect(cellsOf(m, other.label).reference['bad']!.pass).toBe(other !== target);
      }
      expect(cellsOf(m, target.label).reference['bad']!.firstFailure).toMatch(/ gradient /);
    }
  });

  it('accepts an error inside the bound, except for max and min (exact)', () => {
    for (const target of OUTPUTS) {
      const close = perfect();
      const y = close[firstRunOf(target.op)]!.outputs[target.k]!.y;
      const j = finiteNonZero(y);
      y[j]! += 1e-6 * Math.max(1, Math.abs(y[j]!));
      const m = buildMatrix(runs, { close });
      expect(cellsOf(m, target.label).reference['close']!.pass, target.label).toBe(!target.exact);
    }
  });

  it('fails a NaN where the reference is finite, for the gradient of every output too', () => {
    for (const target of OUTPUTS) {
      const nan = perfect();
      const dx = nan[firstRunOf(target.op)]!.outputs[target.k]!.dx;
      dx[finiteNonZero(dx)] = Number.NaN;
      expect(cellsOf(buildMatrix(runs, { nan }), target.label).reference['nan']!.pass).toBe(false);
    }
  });

  it("fails anything but the op's empty value on an empty row (-Infinity for logsumexp)", () => {
    // Density 0: every slice is empty, every output must be exactly its empty value.
    const emptyRuns = matrixRuns({ ...spec, density: 0 }) as typeof runs;
    for (const target of OUTPUTS) {
      const results = perfect(emptyRuns);
      const i = firstRunOf(target.op, emptyRuns);
      expect(results[i]!.outputs[target.k]!.y.every((v) => v === target.empty)).toBe(true);
      expect(results[i]!.outputs[target.k]!.dx.every((v) => v === 0)).toBe(true);
      const all = buildMatrix(emptyRuns, { exact: results });
      expect(all.ops.every((o) => o.reference['exact']!.pass)).toBe(true);
      // Off by a hair from 0, or finite where -Infinity is expected.
      results[i]!.outputs[target.k]!.y[0] = target.empty === 0 ? 1e-7 : -3e38;
      const m = buildMatrix(emptyRuns, { tiny: results });
      for (const other of OUTPUTS) {
        expect(cellsOf(m, other.label).reference['tiny']!.pass, other.label).toBe(other !== target);
      }
    }
  });

  it('refuses results that do not line up with the runs', () => {
    const swapped = perfect();
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(() => buildMatrix(runs, { swapped })).toThrow(/result 0 is sum/);
    expect(() => buildMatrix(runs, { short: perfect().slice(1) })).toThrow(/results for/);
    const oneOutput = perfect();
    const i = firstRunOf('moments');
    oneOutput[i]!.outputs.pop();
    expect(() => buildMatrix(runs, { oneOutput })).toThrow(/has 1 outputs, moments has 2/);
  });
});

describe('runCases on node:cpu', () => {
  beforeAll(async () => {
    await useNodeBackend('cpu');
  });

  /** One hand-made case: x [2,4,1] mask [2,4], axis 1; the second row is empty. */
  const handCase: ConformanceCase = {
    name: 'hand: [1,2,3,(10)] and an empty row',
    x: Float32Array.from([1, 2, 3, 10, 5, 6, 7, 8]),
    xShape: [2, 4, 1],
    xDtype: 'float32',
    mask: Uint8Array.from([1, 1, 1, 0, 0, 0, 0, 0]),
    maskShape: [2, 4],
    maskDtype: 'bool',
    axis: 1,
    keepDims: false,
    dy: Float32Array.from([3, 5]),
  };

  it('gives every output and the gradient of each alone, in the row order (worked by hand)', async () => {
    const [lse, moments] = await runCases([
      { op: 'logsumexp', case: handCase },
      { op: 'moments', case: handCase },
    ]);
    const close = (got: number[], want: number[]) => {
      expect(got).toHaveLength(want.length);
      got.forEach((g, i) => {
        if (Number.isFinite(want[i]!)) expect(g).toBeCloseTo(want[i]!, 5);
        else expect(g).toBe(want[i]);
      });
    };
    // log(e + e² + e³) = 3 + log(1 + e⁻¹ + e⁻²); the empty row -Infinity.
    const y = 3 + Math.log(1 + Math.exp(-1) + Math.exp(-2));
    expect(lse!.outputs).toHaveLength(1);
    close(lse!.outputs[0]!.y, [y, Number.NEGATIVE_INFINITY]);
    // dy * softmax over the valid elements; 0 at the masked one and on the empty row.
    close(lse!.outputs[0]!.dx, [
      3 * Math.exp(1 - y),
      3 * Math.exp(2 - y),
      3 * Math.exp(3 - y),
      0,
      0,
      0,
      0,
      0,
    ]);
    // mean 2, variance ((1-2)² + 0 + (3-2)²) / 3 = 2/3; the empty row 0 and 0.
    expect(moments!.outputs).toHaveLength(2);
    const [mean, variance] = moments!.outputs;
    close(mean!.y, [2, 0]);
    close(variance!.y, [2 / 3, 0]);
    // d mean = dy / count; d variance = dy * 2 (x - mean) / count.
    close(mean!.dx, [1, 1, 1, 0, 0, 0, 0, 0]);
    close(variance!.dx, [-2, 0, 2, 0, 0, 0, 0, 0]);
  });

  it('matches referenceMaskedReduce and referenceMaskedReduceGrad output by output', async () => {
    const small: MatrixSpec = { ...spec, ops: ['logsumexp', 'moments'] };
    const before = tf.memory().numTensors;
    const run = await runMatrix(small);
    expect(tf.memory().numTensors).toBe(before);
    const smallRuns = matrixRuns(small) as typeof runs;
    expect(run.results).toHaveLength(smallRuns.length);
    for (const [i, { op, case: c }] of smallRuns.entries()) {
      const got = run.results[i]!;
      expect(got.outputs).toHaveLength(op === 'moments' ? 2 : 1);
      for (const [k, out] of got.outputs.entries()) {
        const label = `${op}[${k}] ${c.name}`;
        compareWithReference(`${label} forward`, out.y, caseReference(op, c, k));
        compareWithReference(`${label} gradient`, out.dx, { values: caseGradReference(op, c, k) });
      }
    }
    // What ran is reported, fused or not (the plugin may not have these kernels yet).
    expect(Object.keys(run.kernels)).toEqual(['logsumexp', 'moments']);
    const m = buildMatrix(smallRuns, { cpu: run.results }, undefined, { cpu: run.kernels });
    expect(matrixFailures(m)).toEqual([]);
    expect(m.ops.map((o) => o.kernels['cpu'])).toEqual([
      run.kernels['logsumexp'],
      run.kernels['moments'],
      run.kernels['moments'],
    ]);
  });
});

describe('the masked softmaxes in the matrix', () => {
  const softmaxSpec: MatrixSpec = { ...spec, conformance: true, ops: ['softmax', 'logsoftmax'] };
  const sRuns = matrixRuns(softmaxSpec) as { op: SoftmaxName; case: SoftmaxCase }[];

  const input = (op: SoftmaxName, c: SoftmaxCase) => {
    const a = c.axis ?? -1;
    return {
      logits: c.logits,
      logitsShape: c.logitsShape,
      mask: c.mask,
      maskShape: c.maskShape,
      axis: a < 0 ? a + c.logitsShape.length : a,
      log: op === 'logsoftmax',
    };
  };
  /** A perfect float32 backend from core's float64 softmax references. */
  const perfectSoftmax = (): CaseResult[] =>
    sRuns.map(({ op, case: c }) => ({
      op,
      name: c.name,
      outputs: [
        {
          y: Array.from(Float32Array.from(referenceMaskedSoftmax(input(op, c)).values)),
          dx: Array.from(Float32Array.from(referenceMaskedSoftmaxGrad(input(op, c), c.dy).values)),
        },
      ],
    }));

  it("runs core's softmax conformance cases and the user's shapes, for both ops", () => {
    expect(parseOps('softmax,maskedLogSoftmax')).toEqual(['softmax', 'logsoftmax']);
    const names = (op: string) => sRuns.filter((r) => r.op === op).map((r) => r.case.name);
    const shared = softmaxCases().map((c) => c.name);
    expect(names('softmax').slice(0, shared.length)).toEqual(shared);
    expect(names('softmax')).toContain('rows of length 4,096 (key padding 4,096 and 1,000)');
    // The user's shapes: BxTxF a softmax over time with the mask [B,T,1]; :all over the last axis.
    const own = sRuns.filter((r) => r.op === 'softmax').slice(shared.length);
    expect(own.map((r) => [r.case.name, r.case.maskShape, r.case.axis])).toEqual([
      ['[3,5,2] density 0.6 mask [3,5,1] axis 1', [3, 5, 1], 1],
      ['[4,3]:all density 0.6 mask [4,3] axis -1', [4, 3], undefined],
    ]);
    expect(names('logsoftmax')).toEqual(names('softmax'));
  });

  it('passes perfect backends; the top probability off by 1e-3 of itself fails that op alone', () => {
    const good = buildMatrix(sRuns, { a: perfectSoftmax(), b: perfectSoftmax() });
    expect(good.ops.map((o) => o.label)).toEqual(['maskedSoftmax', 'maskedLogSoftmax']);
    expect(matrixFailures(good)).toEqual([]);
    expect(matrixMarkdown(good)).toContain(`### maskedSoftmax (${sRuns.length / 2} cases)`);
    const bad = perfectSoftmax();
    // The bound is relative to the probability (no absolute floor but 2^-126): the largest
    // probability of the 4,096-long rows (x = max: bound 1e-5 * y * 13), a thousandth off, fails.
    const i = sRuns.findIndex(
      (r) => r.op === 'softmax' && r.case.name.startsWith('rows of length 4,096'),
    );
    const y = bad[i]!.outputs[0]!.y;
    const j = y.indexOf(Math.max(...y));
    y[j] = y[j]! * 1.001;
    const m = buildMatrix(sRuns, { good: perfectSoftmax(), bad });
    expect(cellsOf(m, 'maskedSoftmax').reference['bad']!.pass).toBe(false);
    expect(cellsOf(m, 'maskedSoftmax').pairs['good|bad']!.pass).toBe(false);
    expect(cellsOf(m, 'maskedLogSoftmax').reference['bad']!.pass).toBe(true);
  });

  it('fails anything but exact 0 / -Infinity at masked positions and 0 on empty rows', () => {
    const i = sRuns.findIndex(
      (r) => r.case.name === 'key padding with an all-padding batch: its rows are zeros',
    );
    for (const [k, bad] of [
      // softmax: a masked position (batch 1, key 3) at 1e-30 instead of 0.
      [i, (y: number[]) => (y[24 + 3] = 1e-30)],
      // softmax: the all-padding batch's first row uniform, as softmax(where(mask, x, -1e9)) gives.
      [i, (y: number[]) => y.fill(0.25, 0, 4)],
      // log-softmax: -1e9 at a masked position instead of -Infinity.
      [i + sRuns.length / 2, (y: number[]) => (y[24 + 3] = -1e9)],
    ] as [number, (y: number[]) => void][]) {
      const results = perfectSoftmax();
      bad(results[k]!.outputs[0]!.y);
      const m = buildMatrix(sRuns, { bad: results });
      expect(matrixFailures(m)).toHaveLength(1);
    }
  });

  it('on node:cpu, both ops pass every case against the reference, nothing leaks', async () => {
    await useNodeBackend('cpu');
    const before = tf.memory().numTensors;
    const run = await runMatrix(softmaxSpec);
    expect(tf.memory().numTensors).toBe(before);
    const m = buildMatrix(sRuns, { cpu: run.results }, undefined, { cpu: run.kernels });
    expect(matrixFailures(m)).toEqual([]);
    // What ran is reported (the plugin's kernels, or core's fallback while it has none).
    expect(Object.keys(run.kernels)).toEqual(['softmax', 'logsoftmax']);
    for (const k of Object.values(run.kernels)) expect(k).toMatch(/^(fused|composite)/);
  });
});
