/**
 * Cases aimed at each loop of the kernels, run for every op (the shared conformance cases are
 * small and mostly dense): contiguous blocks and run layouts (two or more reduced runs), each with
 * masks sparse enough for the branching loop (< 1/4 valid) and dense enough for the branch-free
 * one; feature counts that exercise the 16-wide SIMD loop, the 4-wide loop and the scalar tail;
 * mid > 1; inner == 1 (vectorised along the reduced axis when mid == 1); slices longer than
 * ROWS_PER_PARTIAL (float32 partials added into float64); ties (integer values) for max/min;
 * NaN/Inf under the mask and in valid positions (the float64 slow path), values near float32's
 * limit. Checked by core's `checkCase` against its float64 references (forward, gradient, leaks).
 */
import {
  type ConformanceCase,
  outputSize,
  randomFloats,
  randomMask,
  seededRandom,
} from '@masked-ops/core/testing';

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

type Layout = [label: string, xShape: number[], maskShape: number[], axis: number[]];

export const PATH_LAYOUTS: Layout[] = [
  ['blocks, inner 64', [5, 40, 64], [5, 40], [1]],
  ['blocks, inner 23 (16 + 4 + 3)', [5, 40, 23], [5, 40], [1]],
  ['blocks, inner 3 (scalar tail only)', [5, 40, 3], [5, 40], [1]],
  ['blocks, mid > 1', [3, 30, 4, 9], [3, 30, 4], [1]],
  ['blocks, 700-long slices (float64 partials)', [2, 700, 6], [2, 700], [1]],
  ['blocks, inner 1 along the reduced axis', [4, 203], [4, 203], [1]],
  ['blocks, inner 1 along a 1000-long axis (float64 partials)', [2, 1000], [2, 1000], [1]],
  ['blocks, inner 1 with mid > 1', [4, 30, 5], [4, 30, 5], [1]],
  ['runs, inner 20', [6, 20, 5, 20], [6, 20, 5], [0, 2]],
  ['runs, inner 7', [5, 12, 6, 7], [5, 12, 6], [0, 2]],
  ['runs, inner 1', [6, 20, 5], [6, 20, 5], [0, 2]],
  ['runs, three reduced runs', [3, 4, 2, 5, 3, 6], [3, 4, 2, 5, 3], [0, 2, 4]],
  ['runs, 400-long slices (float64 partials)', [3, 40, 4, 10, 3], [3, 40, 4, 10], [1, 3]],
];

export function pathCases(seed = 4242): ConformanceCase[] {
  const rand = seededRandom(seed);
  const cases: ConformanceCase[] = [];
  const add = (
    name: string,
    [, xShape, maskShape, axis]: Layout,
    x: Float32Array,
    mask: Uint8Array,
  ) =>
    cases.push({
      name,
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
  const describe = ([label, xShape, maskShape, axis]: Layout) =>
    `${label}: [${xShape}] mask [${maskShape}] axis [${axis}]`;

  for (const layout of PATH_LAYOUTS) {
    const [, xShape, maskShape] = layout;
    for (const density of [0.08, 0.5, 0.95]) {
      const x = randomFloats(rand, size(xShape));
      // Density 0.5 gets integers in [-2, 2]: many ties for max/min.
      if (density === 0.5) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]! / 5);
      add(
        `${describe(layout)}, density ${density}${density === 0.5 ? ', ties' : ''}`,
        layout,
        x,
        randomMask(rand, size(maskShape), density),
      );
    }
  }

  // NaN/Inf under a sparse mask (branching loop) and a dense one (branch-free loop) for each
  // addressing mode: masked non-finite values must not leak into any reducer.
  const poison = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  const nonFiniteLayouts = [0, 5, 8].map((i) => PATH_LAYOUTS[i]!);
  for (const layout of nonFiniteLayouts) {
    const [, xShape, maskShape] = layout;
    const inner = size(xShape.slice(maskShape.length));
    for (const density of [0.08, 0.7]) {
      const mask = randomMask(rand, size(maskShape), density);
      const x = randomFloats(rand, size(xShape));
      for (let m = 0; m < mask.length; m++) {
        if (!mask[m]) for (let f = 0; f < inner; f++) x[m * inner + f] = poison[(m + f) % 3]!;
      }
      add(`${describe(layout)}: NaN/Inf under a mask of density ${density}`, layout, x, mask);
    }
  }

  // NaN/Inf in a few valid positions: they propagate (sum/mean through the float64 slow path,
  // max/min through f32x4.max/min), the other outputs stay as they are.
  for (const i of [0, 4, 5, 6, 8, 12]) {
    const layout = PATH_LAYOUTS[i]!;
    const [, xShape, maskShape] = layout;
    const mask = randomMask(rand, size(maskShape), 0.6);
    const x = randomFloats(rand, size(xShape));
    for (let k = 0; k < 6; k++) x[Math.floor(rand() * x.length)] = poison[k % 3]!;
    add(`${describe(layout)}: NaN/Inf in valid positions`, layout, x, mask);
  }

  // Near float32's limit on the float64 partial paths: a mean of finite values stays finite
  // (3e38), a sum overflows to Inf as float32 does.
  for (const i of [4, 6, 12]) {
    const layout = PATH_LAYOUTS[i]!;
    const [, xShape, maskShape] = layout;
    const x = randomFloats(rand, size(xShape));
    for (let k = 0; k < x.length; k++) x[k] = x[k]! > 0 ? 3e38 : -1e38;
    add(
      `${describe(layout)}: values near float32 max`,
      layout,
      x,
      randomMask(rand, size(maskShape), 0.7),
    );
  }
  return cases.map((c) => ({ ...c, halfUnsafe: true }));
}
