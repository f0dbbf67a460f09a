import {
  type ReducerName,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
} from '@masked-ops/core';
import { normaliseAxis } from '@masked-ops/core/testing';
import { describe, expect, it } from 'vitest';
import {
  buildMatrix,
  type CaseResult,
  type MatrixRun,
  type MatrixSpec,
  matrixRuns,
} from '../src/matrix.js';
import { ALL_OPS } from '../src/ops.js';
import { matrixFailures, matrixMarkdown } from '../src/report.js';
import { parseShapes } from '../src/shapes.js';

const spec: MatrixSpec = {
  shapes: parseShapes('3x5x2,4x3:all'),
  density: 0.6,
  seed: 7,
  conformance: false,
  ops: [...ALL_OPS],
};
const runs = matrixRuns(spec);

/** A perfect float32 backend: the independent float64 references rounded to float32. */
function perfect(of: MatrixRun[] = runs): CaseResult[] {
  return of.map(({ op, case: c }) => {
    const axis = normaliseAxis(c);
    const x = Float32Array.from(c.x);
    const y = referenceMaskedReduce(op, x, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
    const dx = referenceMaskedReduceGrad(op, x, c.dy, c.xShape, c.mask, c.maskShape, axis);
    return {
      op,
      name: c.name,
      y: Array.from(Float32Array.from(y.values)),
      dx: Array.from(Float32Array.from(dx)),
    };
  });
}

/** The index of the first run of `op` whose output has a valid element at `i`. */
const firstRunOf = (op: ReducerName): number => runs.findIndex((r) => r.op === op);
const opMatrix = (m: ReturnType<typeof buildMatrix>, op: ReducerName) =>
  m.ops.find((o) => o.reducer === op)!;

describe('matrixRuns', () => {
  it('runs every selected op on every case, op by op', () => {
    // 2 shapes x 2 axis variants, for each of the 4 ops.
    expect(runs.map((r) => r.op)).toEqual(ALL_OPS.flatMap((op) => new Array(4).fill(op)));
    expect(runs.filter((r) => r.op === 'max').map((r) => r.case.name)).toEqual([
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
    const names = (op: ReducerName) => all.filter((r) => r.op === op).map((r) => r.case.name);
    expect(names('sum').length).toBeGreaterThan(150);
    expect(names('sum')).toContain(
      'time of 100,000, constant 1.1: [1,100000,4] mask [1,100000] axis 1',
    );
    for (const op of ALL_OPS) expect(names(op)).toEqual(names('sum'));
  });
});

describe('buildMatrix', () => {
  it('passes backends that agree with the reference, for every op', () => {
    const m = buildMatrix(runs, { a: perfect(), b: perfect() });
    expect(m.ops.map((o) => o.op)).toEqual(['maskedSum', 'maskedMean', 'maskedMax', 'maskedMin']);
    for (const om of m.ops) {
      expect(om.cases).toBe(4);
      expect(om.reference['a']!.pass).toBe(true);
      expect(om.reference['a']!.checked).toBeGreaterThan(0);
      expect(om.pairs['a|b']!.pass).toBe(true);
    }
    expect(matrixFailures(m)).toEqual([]);
    expect(matrixMarkdown(m)).toContain('### maskedMin (4 cases)');
  });

  for (const op of ALL_OPS) {
    it(`fails ${op} alone when a backend is off by more than the bound, and every pair with it`, () => {
      const bad = perfect();
      const i = firstRunOf(op);
      // 1e-2 is far outside the bound of these small values (1e-5 * (1 + scale) * log factor
      // for sum/mean, exact for max/min); pick an output with valid elements.
      const ref = perfect()[i]!;
      const j = ref.y.findIndex((v) => v !== 0);
      bad[i]!.y[j]! += 0.01;
      const m = buildMatrix(runs, { good: perfect(), bad });
      for (const other of ALL_OPS) {
        const om = opMatrix(m, other);
        expect(om.reference['good']!.pass).toBe(true);
        expect(om.reference['bad']!.pass).toBe(other !== op);
        expect(om.pairs['good|bad']!.pass).toBe(other !== op);
      }
      const failing = opMatrix(m, op);
      expect(failing.reference['bad']!.failures).toBe(1);
      expect(failing.pairs['good|bad']!.maxAbsDiff).toBeCloseTo(0.01, 6);
      expect(matrixFailures(m)).toHaveLength(2);
      expect(matrixFailures(m)[0]).toMatch(new RegExp(`^masked${op[0]!.toUpperCase()}`));
    });
  }

  it('accepts an error inside the bound for sum and mean, none for max and min', () => {
    for (const op of ALL_OPS) {
      const close = perfect();
      const i = firstRunOf(op);
      const j = close[i]!.y.findIndex((v) => v !== 0);
      close[i]!.y[j]! += 1e-6 * Math.max(1, Math.abs(close[i]!.y[j]!));
      const m = buildMatrix(runs, { close });
      expect(opMatrix(m, op).reference['close']!.pass).toBe(op === 'sum' || op === 'mean');
    }
  });

  it('fails a NaN where the reference is finite, for the gradient too', () => {
    for (const op of ALL_OPS) {
      const nan = perfect();
      const i = firstRunOf(op);
      nan[i]!.dx[nan[i]!.dx.findIndex((v) => v !== 0)] = Number.NaN;
      expect(opMatrix(buildMatrix(runs, { nan }), op).reference['nan']!.pass).toBe(false);
    }
  });

  it('fails a non-zero empty row, for every op', () => {
    // Density 0: every slice is empty, every output must be exactly 0.
    const emptyRuns = matrixRuns({ ...spec, density: 0 });
    for (const op of ALL_OPS) {
      const results = perfect(emptyRuns);
      expect(results.every((r) => r.y.every((v) => v === 0))).toBe(true);
      expect(buildMatrix(emptyRuns, { zero: results }).ops.every((o) => o.reference['zero']!.pass));
      const i = emptyRuns.findIndex((r) => r.op === op);
      results[i]!.y[0] = 1e-7;
      const m = buildMatrix(emptyRuns, { tiny: results });
      for (const other of ALL_OPS) {
        expect(opMatrix(m, other).reference['tiny']!.pass).toBe(other !== op);
      }
    }
  });

  it('refuses results that do not line up with the runs', () => {
    const swapped = perfect();
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(() => buildMatrix(runs, { swapped })).toThrow(/result 0 is sum/);
    expect(() => buildMatrix(runs, { short: perfect().slice(1) })).toThrow(/results for/);
  });
});
