/**
 * Cases aimed at each loop of the kernels (the shared conformance cases are small and mostly
 * dense): contiguous blocks and offset tables, each with masks sparse enough for the branching
 * loop (< 1/4 valid) and dense enough for the branch-free one, feature counts that exercise the
 * 16-wide unrolled SIMD loop, the 4-wide loop and the scalar tail, mid > 1, and inner == 1.
 * Checked by core's `checkCase` against its float64 reference (forward, gradient, no leak).
 */
import {
  type ConformanceCase,
  outputSize,
  randomFloats,
  randomMask,
  seededRandom,
} from '@masked-ops/core/testing';

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

export function pathCases(seed = 4242): ConformanceCase[] {
  const rand = seededRandom(seed);
  const cases: ConformanceCase[] = [];
  const layouts: [string, number[], number[], number[]][] = [
    ['blocks, inner 64', [5, 40, 64], [5, 40], [1]],
    ['blocks, inner 23 (16 + 4 + 3)', [5, 40, 23], [5, 40], [1]],
    ['blocks, inner 3 (scalar tail only)', [5, 40, 3], [5, 40], [1]],
    ['blocks, mid > 1', [3, 30, 4, 9], [3, 30, 4], [1]],
    ['blocks, inner 1 along the reduced axis (SIMD over time)', [4, 203], [4, 203], [1]],
    ['blocks, inner 1 with mid > 1', [4, 30, 5], [4, 30, 5], [1]],
    ['tables, inner 20', [6, 20, 5, 20], [6, 20, 5], [0, 2]],
    ['tables, inner 7', [5, 12, 6, 7], [5, 12, 6], [0, 2]],
    ['tables, inner 1', [6, 20, 5], [6, 20, 5], [0, 2]],
  ];
  for (const [label, xShape, maskShape, axis] of layouts) {
    for (const density of [0.08, 0.5, 0.95]) {
      const mask = randomMask(rand, size(maskShape), density);
      cases.push({
        name: `${label}: [${xShape}] mask [${maskShape}] axis [${axis}], density ${density}`,
        x: randomFloats(rand, size(xShape)),
        xShape,
        xDtype: 'float32',
        mask,
        maskShape,
        maskDtype: 'bool',
        axis,
        keepDims: false,
        dy: randomFloats(rand, outputSize(xShape, maskShape.length, axis), -2, 2),
      });
    }
  }
  // NaN/Inf under a sparse mask on the branching loop and under a dense one on the branch-free
  // loop, for both addressing modes: masked non-finite values must not leak into either.
  for (const [label, xShape, maskShape, axis] of [
    ['blocks', [4, 40, 20], [4, 40], [1]],
    ['tables', [4, 10, 4, 20], [4, 10, 4], [0, 2]],
  ] as [string, number[], number[], number[]][]) {
    for (const density of [0.08, 0.7]) {
      const mask = randomMask(rand, size(maskShape), density);
      const inner = size(xShape.slice(maskShape.length));
      const x = randomFloats(rand, size(xShape));
      const poison = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
      for (let m = 0; m < mask.length; m++) {
        if (!mask[m]) for (let f = 0; f < inner; f++) x[m * inner + f] = poison[(m + f) % 3]!;
      }
      cases.push({
        name: `${label}: NaN/Inf under a mask of density ${density}`,
        x,
        xShape,
        xDtype: 'float32',
        mask,
        maskShape,
        maskDtype: 'bool',
        axis,
        keepDims: false,
        dy: randomFloats(rand, outputSize(xShape, maskShape.length, axis), -2, 2),
      });
    }
  }
  return cases;
}
