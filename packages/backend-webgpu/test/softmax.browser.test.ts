// The masked softmaxes on tfjs's webgpu backend (SwiftShader adapter in headless Chromium): core's
// softmax conformance kit on the fused path (every broadcast pattern, rows of length 1 and 4,096,
// empty rows, huge logits, NaN/Inf, zero-size, every error; forward and gradient against the
// float64 reference), and no tensor, data id or GPU buffer left behind.
import '@tensorflow/tfjs-backend-webgpu';
import '../src/index.js';
import { MASKED_SOFTMAXES, maskedLogSoftmax, maskedSoftmax } from '@masked-ops/core';
import {
  checkSoftmaxCase,
  defineSoftmaxSuite,
  randomFloats,
  randomMask,
  type SoftmaxCase,
  seededRandom,
} from '@masked-ops/core/testing';
import { dispose, grad, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { MAX_SOFTMAX_DIMS } from '../src/programs/softmax.js';
import { expectNoResourceGrowth, useWebGPU } from './helpers.js';

useWebGPU();

defineSoftmaxSuite({ describe, it }, { path: 'fused', timeout: 120_000 });

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** A case beyond the kit (its values random; the expected ones from core's float64 reference). */
function makeCase(
  name: string,
  logitsShape: number[],
  maskShape: number[],
  axis: number,
  seed: number,
): SoftmaxCase {
  const rand = seededRandom(seed);
  return {
    name,
    logitsShape,
    logits: randomFloats(rand, size(logitsShape), -4, 4),
    maskShape,
    mask: Array.from(randomMask(rand, size(maskShape), 0.6)),
    maskDtype: 'bool',
    axis,
    dy: randomFloats(rand, size(logitsShape), -1, 1),
  };
}

const beyondKit = (log: boolean) => [
  // The mask alternates broadcast and read dims: 4 merged runs before the axis, 2 after.
  makeCase(
    `${MAX_SOFTMAX_DIMS} merged dims before the axis: [2,3,2,3,5,2,3] mask [2,1,2,1,5,2,1] axis 4`,
    [2, 3, 2, 3, 5, 2, 3],
    [2, 1, 2, 1, 5, 2, 1],
    4,
    31,
  ),
  // More workgroups than one dispatch dimension takes (65,535): tfjs folds the dispatch into 2-D
  // and the shader flattens the workgroup id back. One op only: ~20 s on SwiftShader.
  ...(log
    ? []
    : [
        makeCase(
          '270,000 rows of 3 (a 2-D dispatch), mask [270000,1]',
          [270_000, 3],
          [270_000, 1],
          1,
          32,
        ),
      ]),
];

for (const row of MASKED_SOFTMAXES) {
  describe(`${row.op}: cases beyond the conformance kit`, () => {
    for (const c of beyondKit(row.log)) it(c.name, () => checkSoftmaxCase(row, c), 120_000);
    it(`throws a clear error beyond ${MAX_SOFTMAX_DIMS} merged dims on a side`, () => {
      const logits = tensor(new Float32Array(2 ** 10), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
      const mask = tensor(
        new Array<boolean>(2 ** 6).fill(true),
        [2, 1, 2, 1, 2, 1, 2, 1, 2, 2],
        'bool',
      );
      const f = row.log ? maskedLogSoftmax : maskedSoftmax;
      expect(() => f(logits, mask)).toThrow(/at most 4 are supported/);
      dispose([logits, mask]);
    });
  });
}

describe('masked softmax resources', () => {
  it('leaves no tensor, data id or GPU buffer behind, forward and backward', async () => {
    const rand = seededRandom(21);
    // Both workgroup shapes: rows of 40 and of 1,500; a key-padding-like broadcast mask.
    const shapes: [number[], number[]][] = [
      [
        [3, 2, 40],
        [3, 1, 40],
      ],
      [
        [2, 1500],
        [2, 1500],
      ],
    ];
    const inputs = shapes.map(([xShape, maskShape]) => {
      return {
        x: tensor(randomFloats(rand, size(xShape)), xShape),
        mask: tensor(randomMask(rand, size(maskShape), 0.6), maskShape, 'bool'),
        dy: tensor(randomFloats(rand, size(xShape)), xShape),
      };
    });
    await expectNoResourceGrowth(async () => {
      for (const { x, mask, dy } of inputs) {
        for (const f of [maskedSoftmax, maskedLogSoftmax]) {
          const y = f(x, mask);
          const dx = grad((v: Tensor) => f(v, mask))(x, dy);
          await dx.data();
          dispose([y, dx]);
        }
      }
    });
    dispose(inputs.flatMap(({ x, mask, dy }) => [x, mask, dy]));
  });
});
