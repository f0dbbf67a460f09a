// Timings of the fused masked softmax on webgl (headless Chromium, SwiftShader: a CPU emulation,
// so only ratios within one run mean anything), printed, not asserted (issue 14's targets: fused
// >= 2x the composite, and >= tf.softmax). The composite is what users write today:
// softmax(where(mask, x, -1e9)), then zeros for rows without a valid key. Forward: the op alone;
// backward: tf.grad of the op (forward + gradient). Every timing ends with a read of the result;
// the six variants are timed in turns (interleavedMedians).
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-layers'; // tfjs's built-in gradients, for the composite and tf.softmax
import '../src/index.js';
import { maskedSoftmax } from '@masked-ops/core';
import { randomFloats, seededRandom } from '@masked-ops/core/testing';
import {
  any,
  dispose,
  getKernel,
  grad,
  registerKernel,
  scalar,
  setBackend,
  softmax,
  type Tensor,
  tensor,
  tidy,
  where,
} from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { webglSoftmaxKernelConfigs } from '../src/kernels/softmax.js';
import { interleavedMedians } from './timing.js';

for (const c of webglSoftmaxKernelConfigs) {
  if (getKernel(c.kernelName, 'webgl') === undefined) registerKernel(c);
}

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

/** softmax(where(mask, x, -1e9)) with rows that have no valid position zeroed. */
const composite = (x: Tensor, mask: Tensor): Tensor =>
  tidy(() => {
    const sm = softmax(where(mask, x, scalar(-1e9)));
    return where(any(mask, -1, true), sm, scalar(0));
  });

/**
 * Mask rows: valid prefixes of the given lengths (key padding), or of lengths uniform in [0, n]
 * (as `pnpm bench` makes them) when `lengths` is 'random', or 80% valid at random positions.
 */
const CASES: {
  name: string;
  shape: number[];
  maskShape: number[];
  lengths: number[] | 'random' | 'scattered';
}[] = [
  {
    name: 'attention [8,12,128,128], key padding [8,1,1,128]',
    shape: [8, 12, 128, 128],
    maskShape: [8, 1, 1, 128],
    lengths: [128, 100, 64, 128, 17, 90, 128, 1],
  },
  {
    name: '[64,4096], full mask of key-padding rows',
    shape: [64, 4096],
    maskShape: [64, 4096],
    lengths: 'random',
  },
  {
    name: '[64,4096], full mask 80% valid at random',
    shape: [64, 4096],
    maskShape: [64, 4096],
    lengths: 'scattered',
  },
];

for (const c of CASES) {
  it(c.name, async () => {
    const rand = seededRandom(14);
    const size = c.shape.reduce((p, d) => p * d, 1);
    const x = tensor(randomFloats(rand, size, -8, 8), c.shape);
    const dy = tensor(randomFloats(rand, size, -1, 1), c.shape);
    const l = c.maskShape.at(-1)!;
    const maskRows = c.maskShape.reduce((p, d) => p * d, 1) / l;
    const lengths =
      c.lengths === 'random'
        ? Array.from({ length: maskRows }, () => Math.round(rand() * l))
        : c.lengths;
    const maskValues =
      lengths === 'scattered'
        ? Array.from({ length: size }, () => rand() < 0.8)
        : lengths.flatMap((len) => Array.from({ length: l }, (_, k) => k < len));
    const mask = tensor(maskValues, c.maskShape, 'bool');
    const report = (what: string, ms: number) =>
      console.log(`maskedSoftmax webgl ${c.name} ${what}: ${ms.toFixed(1)} ms (median)`);
    const t = await interleavedMedians({
      fused: () => maskedSoftmax(x, mask),
      composite: () => composite(x, mask),
      softmax: () => softmax(x),
      fusedGrad: () => grad((v: Tensor) => maskedSoftmax(v, mask))(x, dy),
      compositeGrad: () => grad((v: Tensor) => composite(v, mask))(x, dy),
      softmaxGrad: () => grad((v: Tensor) => softmax(v))(x, dy),
    });
    for (const [what, ms] of Object.entries(t)) report(what, ms);
    console.log(
      `maskedSoftmax webgl ${c.name}: forward ${(t.composite / t.fused).toFixed(2)}x the composite, ` +
        `${(t.softmax / t.fused).toFixed(2)}x tf.softmax; backward ${(t.compositeGrad / t.fusedGrad).toFixed(2)}x, ` +
        `${(t.softmaxGrad / t.fusedGrad).toFixed(2)}x`,
    );
    dispose([x, dy, mask]);
  });
}
