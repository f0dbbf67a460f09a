import { maskedMean, referenceMaskedMean, referenceMaskedMeanGrad } from '@masked-ops/core';
import {
  allowedError,
  type ConformanceCase,
  conformanceCases,
  outputSize,
  randomFloats,
  randomMask,
  seededRandom,
} from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The cross-backend matrix: the same cases run on every backend (in Node and in the browser), each
 * result compared with the float64 reference and with every other backend. Cases are regenerated
 * from a small spec on each side, so only the spec crosses into the browser and only results
 * come back.
 */
export interface MatrixSpec {
  /** [batch, time, features] shapes of the user's own cases (mask [batch, time], axis 1). */
  shapes: number[][];
  density: number;
  seed: number;
  /** Also run every shared conformance case of @masked-ops/core/testing. */
  conformance: boolean;
}

export interface CaseResult {
  name: string;
  y: number[];
  dx: number[];
}

export function matrixCases(spec: MatrixSpec): ConformanceCase[] {
  const rand = seededRandom(spec.seed);
  const cases = spec.conformance ? conformanceCases() : [];
  for (const shape of spec.shapes) {
    const [b, t, f] = shape as [number, number, number];
    for (const [axis, keepDims] of [
      [1, false],
      [[0, 1], true],
    ] as [number | number[], boolean][]) {
      cases.push({
        name: `[${shape}] density ${spec.density} axis ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`,
        x: randomFloats(rand, b * t * f),
        xShape: [b, t, f],
        xDtype: 'float32',
        mask: randomMask(rand, b * t, spec.density),
        maskShape: [b, t],
        maskDtype: 'bool',
        axis,
        keepDims,
        dy: randomFloats(rand, outputSize([b, t, f], 2, axis), -2, 2),
      });
    }
  }
  return cases;
}

/** Runs every case forward and backward on the active backend. */
export async function runCases(
  cases: ConformanceCase[],
  onProgress?: (done: number, total: number) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    const x = tf.tensor(c.xDtype === 'int32' ? Float32Array.from(c.x) : c.x, c.xShape, 'float32');
    const mask = tf.tensor(c.mask, c.maskShape, c.maskDtype);
    const y = maskedMean(x, mask, c.axis, c.keepDims);
    const dy = tf.tensor(c.dy, y.shape);
    const dx = tf.grad((v: tf.Tensor) => maskedMean(v, mask, c.axis, c.keepDims))(x, dy);
    results.push({ name: c.name, y: Array.from(await y.data()), dx: Array.from(await dx.data()) });
    tf.dispose([x, mask, y, dy, dx]);
    onProgress?.(i + 1, cases.length);
  }
  return results;
}

export interface Cell {
  /** Largest |a - b| over finite pairs, forward and gradient together. */
  maxAbsDiff: number;
  /** Largest |a - b| / allowed: the cell passes when it is <= 1 and non-finite values agree. */
  worstRatio: number;
  failures: number;
  pass: boolean;
  firstFailure?: string;
}

interface Expected {
  y: Float64Array;
  yTol: Float64Array;
  dx: Float64Array;
  dxTol: Float64Array;
}

const normaliseAxis = (c: ConformanceCase): number[] =>
  (c.axis === undefined
    ? [...Array(c.maskShape.length).keys()]
    : ([] as number[]).concat(c.axis)
  ).map((a) => (a < 0 ? a + c.xShape.length : a));

function expectedOf(c: ConformanceCase, precision: 'float32' | 'float16'): Expected {
  const axis = normaliseAxis(c);
  const ref = referenceMaskedMean(c.x, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
  const dx = referenceMaskedMeanGrad(c.dy, c.xShape, c.mask, c.maskShape, axis);
  return {
    y: ref.values,
    // A row with no valid element must be exactly 0 everywhere: no allowance.
    yTol: ref.values.map((_, i) =>
      ref.counts[i] === 0 ? 0 : allowedError(ref.maxAbs[i]!, ref.counts[i]!, precision),
    ),
    dx,
    dxTol: dx.map((v) => allowedError(Math.abs(v), 1, precision)),
  };
}

/** Compares two value lists element by element against a per-element allowance. */
function compare(
  cell: Cell,
  label: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  allowed: ArrayLike<number>,
): void {
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    const q = b[i]!;
    let bad: boolean;
    if (Number.isFinite(p) && Number.isFinite(q)) {
      const d = Math.abs(p - q);
      cell.maxAbsDiff = Math.max(cell.maxAbsDiff, d);
      const ratio = d / allowed[i]!;
      cell.worstRatio = Math.max(cell.worstRatio, Number.isNaN(ratio) ? 0 : ratio);
      bad = d > allowed[i]!;
    } else {
      bad = !(Object.is(p, q) || (Number.isNaN(p) && Number.isNaN(q)));
    }
    if (bad) {
      cell.failures++;
      cell.firstFailure ??= `${label}[${i}]: ${p} vs ${q}`;
    }
  }
}

const emptyCell = (): Cell => ({ maxAbsDiff: 0, worstRatio: 0, failures: 0, pass: true });

export interface Matrix {
  backends: string[];
  cases: number;
  /** backend -> its cell against the float64 reference. */
  reference: Record<string, Cell>;
  /** "a|b" -> their cell against each other (allowance: both backends' bounds added). */
  pairs: Record<string, Cell>;
}

/**
 * Builds the matrix from each backend's results (same cases, same order). Each backend is held to
 * the bound of @masked-ops/core/testing; two backends may differ by the sum of their bounds.
 */
export function buildMatrix(
  cases: ConformanceCase[],
  results: Record<string, CaseResult[]>,
  precisionOf: (backend: string) => 'float32' | 'float16' = () => 'float32',
): Matrix {
  const backends = Object.keys(results);
  const reference: Record<string, Cell> = {};
  const pairs: Record<string, Cell> = {};
  const expected = {
    float32: cases.map((c) => expectedOf(c, 'float32')),
    float16: backends.some((b) => precisionOf(b) === 'float16')
      ? cases.map((c) => expectedOf(c, 'float16'))
      : [],
  };
  for (const b of backends) {
    const cell = emptyCell();
    cases.forEach((c, i) => {
      const r = results[b]![i]!;
      const e = expected[precisionOf(b)][i]!;
      if (r.name !== c.name) throw new Error(`${b}: result ${i} is ${r.name}, expected ${c.name}`);
      compare(cell, `${c.name} forward`, r.y, e.y, e.yTol);
      compare(cell, `${c.name} gradient`, r.dx, e.dx, e.dxTol);
    });
    cell.pass = cell.failures === 0;
    reference[b] = cell;
  }
  for (const [ai, a] of backends.entries()) {
    for (const b of backends.slice(ai + 1)) {
      const cell = emptyCell();
      cases.forEach((c, i) => {
        const ea = expected[precisionOf(a)][i]!;
        const eb = expected[precisionOf(b)][i]!;
        const sum = (p: Float64Array, q: Float64Array) => p.map((v, j) => v + q[j]!);
        compare(
          cell,
          `${c.name} forward`,
          results[a]![i]!.y,
          results[b]![i]!.y,
          sum(ea.yTol, eb.yTol),
        );
        compare(
          cell,
          `${c.name} gradient`,
          results[a]![i]!.dx,
          results[b]![i]!.dx,
          sum(ea.dxTol, eb.dxTol),
        );
      });
      cell.pass = cell.failures === 0;
      pairs[`${a}|${b}`] = cell;
    }
  }
  return { backends, cases: cases.length, reference, pairs };
}
