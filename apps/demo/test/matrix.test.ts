import { referenceMaskedMean, referenceMaskedMeanGrad } from '@masked-ops/core';
import { describe, expect, it } from 'vitest';
import { buildMatrix, type CaseResult, matrixCases } from '../src/matrix.js';
import { matrixFailures } from '../src/report.js';

const spec = { shapes: [[3, 5, 2]], density: 0.6, seed: 7, conformance: false };
const cases = matrixCases(spec);

/** A perfect float32 backend: the independent float64 reference rounded to float32. */
function exact(): CaseResult[] {
  return cases.map((c) => {
    const axis = ([] as number[]).concat(c.axis ?? []);
    const y = referenceMaskedMean(c.x, c.xShape, c.mask, c.maskShape, axis, c.keepDims).values;
    const dx = referenceMaskedMeanGrad(c.dy, c.xShape, c.mask, c.maskShape, axis);
    return {
      name: c.name,
      y: Array.from(Float32Array.from(y)),
      dx: Array.from(Float32Array.from(dx)),
    };
  });
}

describe('buildMatrix', () => {
  it('passes backends that agree with the reference', () => {
    const m = buildMatrix(cases, { a: exact(), b: exact() });
    expect(m.reference['a']!.pass).toBe(true);
    expect(m.pairs['a|b']!.pass).toBe(true);
    expect(matrixFailures(m)).toEqual([]);
  });

  it('fails a backend off by more than the bound, and every pair with it', () => {
    const bad = exact();
    bad[0]!.y[1]! += 0.01;
    const m = buildMatrix(cases, { good: exact(), bad });
    expect(m.reference['good']!.pass).toBe(true);
    expect(m.reference['bad']!.pass).toBe(false);
    expect(m.pairs['good|bad']!.pass).toBe(false);
    expect(m.pairs['good|bad']!.maxAbsDiff).toBeCloseTo(0.01, 6);
    expect(matrixFailures(m)).toHaveLength(2);
  });

  it('fails a NaN where the reference is finite, and a non-zero empty row', () => {
    const nan = exact();
    nan[1]!.dx[0] = Number.NaN;
    expect(buildMatrix(cases, { nan }).reference['nan']!.pass).toBe(false);
    // A mask with an all-padding row: that output must be exactly 0.
    const empty = { ...spec, density: 0 };
    const emptyCases = matrixCases(empty);
    const results = emptyCases.map((c) => ({
      name: c.name,
      y: new Array<number>(c.keepDims ? c.xShape[2]! : c.xShape[0]! * c.xShape[2]!).fill(1e-7),
      dx: new Array<number>(c.x.length).fill(0),
    }));
    expect(buildMatrix(emptyCases, { tiny: results }).reference['tiny']!.pass).toBe(false);
  });
});
