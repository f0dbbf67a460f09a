// What the shared conformance kit does not cover on webgpu: long slices on both workgroup
// shapes and several reduced runs (masked NaN/±Inf spread over many invocations, ties split
// across invocations), split reductions (which programs run; NaN/±Inf, empty slices and ties
// across chunks), the most runs a program takes, inputs produced by other webgpu ops
// (transpose, slice, matMul outputs; a bool mask from a comparison), no tensor or GPU buffer left
// behind, and the number of compiled shaders staying independent of the shapes. Expected values
// come from core's float64 references, never from the kernels.
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import {
  MASKED_REDUCTIONS,
  maskedMean,
  maskedSum,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
  referenceMaskedReduceGradScales,
} from '@masked-ops/core';
import {
  type ConformanceCase,
  checkCase,
  compareWithReference,
  randomFloats,
  randomMask,
  runOp,
  seededRandom,
} from '@masked-ops/core/testing';
import {
  dispose,
  grad,
  greater,
  matMul,
  memory,
  profile,
  reshape,
  slice,
  type Tensor,
  tensor,
  transpose,
} from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { MAX_RUNS, type Slices, workgroupShape } from '../src/programs/slice.js';
import { splitPlan } from '../src/programs/split.js';
import { expectNoResourceGrowth, useWebGPU, webgpu } from './helpers.js';

useWebGPU();

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const rand = seededRandom(15);

function makeCase(
  name: string,
  xShape: number[],
  maskShape: number[],
  axis: number[],
  x: Float32Array,
  mask: Uint8Array,
  keepDims = false,
): ConformanceCase {
  // The cotangent has the output's size (keepDims only relabels it).
  const outShape = xShape.filter((_, i) => !axis.includes(i));
  return {
    name,
    x,
    xShape,
    xDtype: 'float32',
    mask,
    maskShape,
    maskDtype: 'bool',
    axis,
    keepDims,
    dy: randomFloats(rand, size(outShape), -2, 2),
  };
}

function extraCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  {
    // Long full-shape rows ([4, 64] workgroups): masked positions hold NaN/±Inf; row 1 has
    // three valid steps far apart (different invocations).
    const t = 70_000;
    const x = randomFloats(rand, 2 * t);
    const mask = randomMask(rand, 2 * t, 0.5);
    for (let i = 0; i < t; i++) if (!mask[i]) x[i] = [Number.NaN, Infinity, -Infinity][i % 3]!;
    mask.fill(0, t, 2 * t);
    for (const i of [t + 3, t + 40_000, 2 * t - 1]) mask[i] = 1;
    cases.push(
      makeCase('long rows: [2,70000] mask [2,70000] axis 1', [2, t], [2, t], [1], x, mask),
    );
  }
  {
    // Two reduced runs (axes 0 and 2 around a kept one), 12,000 positions per slice; kept row 2
    // has a single valid position, the very last one.
    const xShape = [40, 3, 300, 2];
    const maskShape = [40, 3, 300];
    const mask = randomMask(rand, size(maskShape), 0.3);
    for (let a = 0; a < 40; a++) mask.fill(0, (a * 3 + 2) * 300, (a * 3 + 3) * 300);
    mask[(39 * 3 + 2) * 300 + 299] = 1;
    cases.push(
      makeCase(
        'two reduced runs, long: [40,3,300,2] mask [40,3,300] axis [0,2] keepDims',
        xShape,
        maskShape,
        [0, 2],
        randomFloats(rand, size(xShape)),
        mask,
        true,
      ),
    );
  }
  {
    // Valid non-finite values far apart: +Inf and -Inf in one row, a lone +Inf, a lone -Inf,
    // a NaN.
    const t = 3000;
    const x = randomFloats(rand, 4 * t);
    const mask = randomMask(rand, 4 * t, 0.5);
    const valid = (i: number, v: number) => {
      x[i] = v;
      mask[i] = 1;
    };
    valid(5, Infinity);
    valid(2900, -Infinity);
    valid(t + 1000, Infinity);
    valid(2 * t + 2999, -Infinity);
    valid(3 * t + 7, Number.NaN);
    cases.push(makeCase('valid ±Inf/NaN far apart: [4,3000] axis 1', [4, t], [4, t], [1], x, mask));
  }
  {
    // Many features per row, long slices, the [32, 4] shape: features split over workgroups.
    const xShape = [3, 1500, 40];
    cases.push(
      makeCase(
        'features over several workgroups: [3,1500,40] mask [3,1500] axis 1',
        xShape,
        [3, 1500],
        [1],
        randomFloats(rand, size(xShape)),
        randomMask(rand, 3 * 1500, 0.6),
      ),
    );
  }
  {
    // Ties of the extreme in many invocations: the gradient splits dy among all of them.
    const t = 1000;
    const x = Float32Array.from({ length: 2 * t * 2 }, (_, i) => (i % 7) - 3);
    cases.push(
      makeCase(
        'ties across invocations: [2,1000,2] axis 1',
        [2, t, 2],
        [2, t],
        [1],
        x,
        randomMask(rand, 2 * t, 0.6),
      ),
    );
  }
  {
    // Every axis of a long full-shape row set (the per-token-loss form, split into ~100 chunks of
    // one output): masked positions hold NaN/±Inf.
    const xShape = [300, 700];
    const x = randomFloats(rand, size(xShape));
    const mask = randomMask(rand, size(xShape), 0.5);
    for (let i = 0; i < x.length; i++)
      if (!mask[i]) x[i] = [Number.NaN, Infinity, -Infinity][i % 3]!;
    cases.push(makeCase('every axis, split: [300,700] -> scalar', xShape, xShape, [0, 1], x, mask));
  }
  {
    // Split rows (9 chunks each): ties of the extreme in every chunk; an empty row with NaN
    // under its mask; a row whose only valid position is the last one; a row of valid ±Inf and
    // a NaN in different chunks.
    const t = 20_000;
    const x = Float32Array.from({ length: 4 * t }, (_, i) => (i % 5) - 2);
    const mask = randomMask(rand, 4 * t, 0.5);
    mask.fill(0, t, 3 * t);
    for (let i = t; i < 2 * t; i++) x[i] = Number.NaN;
    mask[3 * t - 1] = 1;
    for (const [i, v] of [
      [3 * t + 100, Infinity],
      [3 * t + 9_000, -Infinity],
      [3 * t + 19_000, Number.NaN],
    ] as const) {
      x[i] = v;
      mask[i] = 1;
    }
    cases.push(
      makeCase(
        'split rows: ties, an empty row, a last-position row, valid ±Inf/NaN: [4,20000] axis 1',
        [4, t],
        [4, t],
        [1],
        x,
        mask,
      ),
    );
  }
  {
    // Split slices of three features ([4, 64] workgroups, two groups of columns): valid +Inf
    // and -Inf in different chunks of one feature, a lone +Inf in another.
    const xShape = [2, 9000, 3];
    const x = randomFloats(rand, size(xShape));
    const mask = randomMask(rand, 2 * 9000, 0.5);
    const valid = (row: number, step: number, feature: number, v: number) => {
      x[(row * 9000 + step) * 3 + feature] = v;
      mask[row * 9000 + step] = 1;
    };
    valid(0, 10, 1, Infinity);
    valid(0, 8000, 1, -Infinity);
    valid(1, 4500, 2, Infinity);
    cases.push(
      makeCase('split features: [2,9000,3] mask [2,9000] axis 1', xShape, [2, 9000], [1], x, mask),
    );
  }
  {
    // The most runs a program takes: a rank-8 mask reduced over every other axis (4 kept and 4
    // reduced runs).
    const maskShape = [2, 3, 2, 3, 2, 3, 2, 3];
    const xShape = [...maskShape, 2];
    cases.push(
      makeCase(
        `${MAX_RUNS} kept and ${MAX_RUNS} reduced runs: mask [${maskShape}] axis [0,2,4,6]`,
        xShape,
        maskShape,
        [0, 2, 4, 6],
        randomFloats(rand, size(xShape)),
        randomMask(rand, size(maskShape), 0.5),
      ),
    );
  }
  return cases;
}

describe('workgroup shapes', () => {
  it('picks [4, 64] for long slices of few features and [32, 4] otherwise', () => {
    const slices = (inner: number, reduceSize: number) => ({
      layout: { kept: [], reduced: [], all: [] },
      keptSize: 2,
      inner,
      reduceSize,
    });
    expect(workgroupShape(slices(1, 70_000))).toEqual([4, 64]);
    expect(workgroupShape(slices(4, 100_000))).toEqual([4, 64]);
    expect(workgroupShape(slices(64, 200))).toEqual([32, 4]);
    expect(workgroupShape(slices(40, 1500))).toEqual([32, 4]);
    expect(workgroupShape(slices(1, 33))).toEqual([32, 4]);
  });
});

/** Slices of one reduced run, as maskedGeometry gives them. */
const slices = (keptSize: number, reduceSize: number, inner: number): Slices => ({
  layout: { kept: [], reduced: [{ size: reduceSize, flatStride: 1, maskStride: 1 }], all: [] },
  keptSize,
  inner,
  reduceSize,
});

describe('split reductions', () => {
  it('splits long slices with few outputs, into at most 256 workgroups', () => {
    // The per-token-loss form at [4096,4096]: one output, 256 chunks of 65,536 positions.
    expect(splitPlan(slices(1, 4096 * 4096, 1))).toEqual({
      shape: [1, 64],
      groups: 1,
      chunks: 256,
      chunkSize: 65_536,
    });
    // The kit's T = 10,000 and T = 100,000 cases: chunks of at least 64 x 32 positions.
    expect(splitPlan(slices(3, 10_000, 4))).toEqual({
      shape: [4, 64],
      groups: 3,
      chunks: 4,
      chunkSize: 2500,
    });
    expect(splitPlan(slices(2, 100_000, 1))).toEqual({
      shape: [1, 64],
      groups: 2,
      chunks: 48,
      chunkSize: 2084,
    });
    // Many outputs, or short slices: one stage.
    expect(splitPlan(slices(256, 200, 64))).toBeNull();
    expect(splitPlan(slices(4096, 4096, 1))).toBeNull();
    expect(splitPlan(slices(1, 16 * 33, 1))).toBeNull();
    expect(splitPlan(slices(1, 4000, 1))).toBeNull();
  });

  for (const spec of MASKED_REDUCTIONS) {
    it(`${spec.op}: a long all-axes reduction runs the split programs, forward and gradient`, async () => {
      const x = tensor(randomFloats(rand, 200 * 500), [200, 500]);
      const mask = tensor(randomMask(rand, 200 * 500, 0.5), [200, 500], 'bool');
      const spy = vi.spyOn(webgpu(), 'runWebGPUProgram');
      // tfjs appends the workgroup size, the inputs' ranks and dtypes to a program's key.
      const programs = () =>
        spy.mock.calls
          .map(([program]) => program.shaderKey.replace(/_\d+,\d+,\d+.*$/, ''))
          .filter((key) => key.includes(`_${spec.reducer}_`));
      const split = (task: string) => `maskedOps_${task}_${spec.reducer}_r1_1x64_split`;
      const forward = [split('forward'), `maskedOps_merge_${spec.reducer}_1x64`];
      try {
        const outs = runOp(spec, x, mask);
        await Promise.all(outs.map((t) => t.data()));
        expect(programs()).toEqual(forward);
        spy.mockClear();
        // tf.grad runs the forward again, then the gradient kernel.
        const dx = grad((v: Tensor) => runOp(spec, v, mask)[0]!)(x);
        await dx.data();
        const stat = spec.reducer === 'sum' || spec.reducer === 'logsumexp' ? [] : ['statistic'];
        expect(programs()).toEqual([...forward, ...[...stat, 'gradient'].map(split)]);
        dispose([...outs, dx]);
      } finally {
        spy.mockRestore();
        dispose([x, mask]);
      }
    });
  }
});

describe('split reductions: shaders', () => {
  it('compiles the same two forward shaders for long all-axes reductions of any shape', async () => {
    const cache = (webgpu() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
    const mine = () =>
      Object.keys(cache).filter((k) =>
        ['maskedOps_forward_sum_r1_1x64_split_', 'maskedOps_merge_sum_1x64_'].some((p) =>
          k.startsWith(p),
        ),
      );
    const known = new Set(mine());
    for (const shape of [[150, 400], [7, 9001], [60_000], [3, 5, 4000]]) {
      const x = tensor(randomFloats(rand, size(shape)), shape);
      const mask = tensor(randomMask(rand, size(shape), 0.5), shape, 'bool');
      const y = maskedSum(x, mask);
      await y.data();
      dispose([x, mask, y]);
    }
    expect(mine().filter((k) => !known.has(k)).length).toBeLessThanOrEqual(2);
    expect(mine().length).toBeGreaterThan(0);
  });
});

const cases = extraCases();
for (const spec of MASKED_REDUCTIONS) {
  describe(`${spec.op}: cases beyond the conformance kit`, () => {
    for (const c of cases) it(c.name, () => checkCase(spec, c), 120_000);
  });
}

/** x and the mask produced by other webgpu ops; the values are read back for the reference. */
const producedInputs: { name: string; make: () => { x: Tensor; mask: Tensor } }[] = [
  {
    name: 'x from transpose, mask from greater',
    make: () => {
      const a = tensor(randomFloats(rand, 2 * 6 * 5), [2, 6, 5]);
      const c = tensor(randomFloats(rand, 6 * 5), [6, 5]);
      const x = transpose(a, [1, 2, 0]); // [6, 5, 2]
      const mask = greater(c, 0);
      dispose([a, c]);
      return { x, mask };
    },
  },
  {
    name: 'x from slice, mask from a slice of a bool tensor',
    make: () => {
      const a = tensor(randomFloats(rand, 8 * 7 * 3), [8, 7, 3]);
      const m = tensor(randomMask(rand, 8 * 7, 0.5), [8, 7], 'bool');
      const x = slice(a, [1, 2, 0], [6, 5, 3]);
      const mask = slice(m, [1, 2], [6, 5]);
      dispose([a, m]);
      return { x, mask };
    },
  },
  {
    name: 'x from matMul (reshaped), mask from greater',
    make: () => {
      const p = tensor(randomFloats(rand, 6 * 4), [6, 4]);
      const q = tensor(randomFloats(rand, 4 * 10), [4, 10]);
      const c = tensor(randomFloats(rand, 6 * 5), [6, 5]);
      const product = matMul(p, q);
      const x = reshape(product, [6, 5, 2]);
      const mask = greater(c, 0);
      dispose([p, q, c, product]);
      return { x, mask };
    },
  },
];

describe('inputs produced by other webgpu ops', () => {
  for (const input of producedInputs) {
    for (const spec of MASKED_REDUCTIONS) {
      it(`${spec.op}: ${input.name}`, async () => {
        const before = memory().numTensors;
        const { x, mask } = input.make();
        const axis = [1];
        const xs = await x.data();
        const ms = await mask.data();
        const info = await profile(() => runOp(spec, x, mask, axis));
        const outs = info.result as Tensor[];
        const dyValues = randomFloats(rand, outs[0]!.size, -2, 2);
        const dy = tensor(dyValues, outs[0]!.shape);
        expect(info.kernels.map((k) => k.name)).toContain(spec.kernelName);
        for (let k = 0; k < outs.length; k++) {
          const ref = referenceMaskedReduce(
            spec.reducer,
            xs,
            x.shape,
            ms,
            mask.shape,
            axis,
            false,
            k,
          );
          compareWithReference(`${spec.op} output ${k}`, await outs[k]!.data(), ref);
        }
        const dx = grad((v: Tensor) => runOp(spec, v, mask, axis)[0]!)(x, dy);
        const args = [spec.reducer, xs, dyValues, x.shape, ms, mask.shape, axis] as const;
        compareWithReference(`${spec.op} gradient`, await dx.data(), {
          values: referenceMaskedReduceGrad(...args),
          scales: referenceMaskedReduceGradScales(...args),
        });
        dispose([...outs, dx, dy, x, mask]);
        expect(memory().numTensors).toBe(before);
      });
    }
  }
});

describe('resources', () => {
  it('leaves no tensor, data id or GPU buffer behind, forward and backward', async () => {
    const x = tensor(randomFloats(rand, 5 * 40 * 6), [5, 40, 6]);
    const mask = tensor(randomMask(rand, 5 * 40, 0.5), [5, 40], 'bool');
    const dy = tensor(randomFloats(rand, 5 * 6), [5, 6]);
    await expectNoResourceGrowth(async () => {
      for (const spec of MASKED_REDUCTIONS) {
        const outs = runOp(spec, x, mask, 1);
        const dx = grad((v: Tensor) => runOp(spec, v, mask, 1).at(-1)!)(x, dy);
        await dx.data();
        dispose([...outs, dx]);
      }
    });
    dispose([x, mask, dy]);
  });

  it('compiles one shader per reducer, task and workgroup shape, whatever the shapes', async () => {
    const cache = (webgpu() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
    const mine = () => Object.keys(cache).filter((k) => k.startsWith('maskedOps_forward_mean_'));
    const known = new Set(mine());
    // Contiguous reductions of many shapes, all on the [32, 4] shape with one reduced run.
    for (const [xShape, maskShape, axis] of [
      [[3, 7, 20], [3, 7], [1]],
      [[9, 2, 30], [9, 2], [1]],
      [[5, 11, 17], [5, 11], [0]],
      [
        [2, 3, 4, 16],
        [2, 3, 4],
        [1, 2],
      ],
    ] as [number[], number[], number[]][]) {
      const x = tensor(randomFloats(rand, size(xShape)), xShape);
      const mask = tensor(randomMask(rand, size(maskShape), 0.5), maskShape, 'bool');
      const y = maskedMean(x, mask, axis);
      await y.data();
      dispose([x, mask, y]);
    }
    const added = mine().filter((k) => !known.has(k));
    expect(added.length).toBeLessThanOrEqual(1);
  });
});
