// tfjs's UnsortedSegmentSum on 'wasm' (tensorflow/tfjs#8082: tfjs-backend-wasm 4.22 has none, so
// tf.gather's gradient, and every Embedding layer, throws in model.fit on wasm). In Node with
// tfjs-layers (built-in gradients) and tfjs-backend-cpu (the comparison): hand-worked literals,
// random inputs against the cpu kernel, tf.grad of tf.gather against cpu, and stock
// tf.layers.embedding training with model.fit.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import '../src/index.js';
import { seededRandom } from '@masked-ops/core/testing';
import {
  dispose,
  gather,
  getKernel,
  grad,
  type KernelConfig,
  memory,
  registerKernel,
  setBackend,
  type Tensor,
  tensor,
  tidy,
  train,
  UnsortedSegmentSum,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { unsortedSegmentSumConfig, wasmKernelModuleInfo } from '../src/index.js';
import { registerUnsortedSegmentSum } from '../src/segment_sum.js';
import {
  checkSegmentSumAgainstCpu,
  checkSegmentSumError,
  checkSegmentSumLiteral,
  checkSegmentSumOutOfMemory,
  randomSegmentCases,
  SEGMENT_SUM_ERRORS,
  SEGMENT_SUM_LITERALS,
} from './support/segment_sum_checks.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(wasmKernelModuleInfo().variant).toBe('simd');
});

describe('registration', () => {
  it("is this package's kernel on wasm (tfjs-backend-wasm 4.22 has none)", () => {
    expect(getKernel(UnsortedSegmentSum, 'wasm')?.kernelFunc).toBe(
      unsortedSegmentSumConfig.kernelFunc,
    );
  });

  it('a kernel already registered for wasm (a later tfjs) wins', () => {
    const theirs: KernelConfig = {
      kernelName: UnsortedSegmentSum,
      backendName: 'wasm',
      kernelFunc: () => {
        throw new Error('not called');
      },
    };
    unregisterKernel(UnsortedSegmentSum, 'wasm');
    registerKernel(theirs);
    try {
      expect(registerUnsortedSegmentSum()).toBe(false);
      expect(getKernel(UnsortedSegmentSum, 'wasm')?.kernelFunc).toBe(theirs.kernelFunc);
    } finally {
      unregisterKernel(UnsortedSegmentSum, 'wasm');
      expect(registerUnsortedSegmentSum()).toBe(true);
    }
    expect(getKernel(UnsortedSegmentSum, 'wasm')?.kernelFunc).toBe(
      unsortedSegmentSumConfig.kernelFunc,
    );
  });
});

describe('unsortedSegmentSum on wasm: worked by hand', () => {
  for (const l of SEGMENT_SUM_LITERALS) it(l.name, () => checkSegmentSumLiteral(l));
  for (const e of SEGMENT_SUM_ERRORS) it(`refuses ${e.name}`, () => checkSegmentSumError(e));
  it('an output at the heap limit throws, leaks nothing, and the next call works', () =>
    checkSegmentSumOutOfMemory());
});

describe('unsortedSegmentSum on wasm equals tfjs-backend-cpu', () => {
  for (const c of randomSegmentCases()) it(c.name, () => checkSegmentSumAgainstCpu(c));
});

/** `fn` on cpu and on wasm (wasm left active), as arrays. */
async function onBoth(fn: () => Tensor): Promise<{ cpu: number[]; wasm: number[] }> {
  const values = async () => {
    const t = fn();
    const v = Array.from(await t.data());
    t.dispose();
    return v;
  };
  expect(await setBackend('cpu')).toBe(true);
  const cpu = await values();
  expect(await setBackend('wasm')).toBe(true);
  return { cpu, wasm: await values() };
}

const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => {
    expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
  });
};

describe('tf.grad of tf.gather on wasm', () => {
  it('works, worked by hand: rows gathered twice get dy twice, others 0', async () => {
    const w = tensor([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const idx = tensor([1, 1, 3], [3], 'int32');
    const before = memory().numTensors;
    const g = grad((v: Tensor) => gather(v, idx))(w);
    expect(Array.from(await g.data())).toEqual([0, 0, 2, 2, 0, 0, 1, 1]);
    g.dispose();
    expect(memory().numTensors).toBe(before);
    dispose([w, idx]);
  });

  const rand = seededRandom(44);
  const values = (n: number) => Array.from({ length: n }, () => rand() * 4 - 2);
  const cases = [
    { name: 'axis 0, 2-D ids with duplicates, rows of 5', xShape: [20, 5], axis: 0 },
    { name: 'axis 1 of [4, 6, 3] (transposed around the segment sum)', xShape: [4, 6, 3], axis: 1 },
    { name: 'axis 0 of a vector', xShape: [30], axis: 0 },
  ];
  for (const c of cases) {
    it(`equals cpu's: ${c.name}`, async () => {
      const xv = values(c.xShape.reduce((p, d) => p * d, 1));
      const n = c.xShape[c.axis]!;
      const idsShape = c.axis === 0 && c.xShape.length === 2 ? [3, 4] : [7];
      const idv = Array.from({ length: idsShape.reduce((p, d) => p * d, 1) }, (_, i) =>
        i % 3 === 0 ? n - 1 : Math.floor(rand() * n),
      );
      const outShape = [...c.xShape.slice(0, c.axis), ...idsShape, ...c.xShape.slice(c.axis + 1)];
      const dyv = values(outShape.reduce((p, d) => p * d, 1));
      const { cpu, wasm } = await onBoth(() =>
        tidy(() => {
          const x = tensor(xv, c.xShape);
          const idx = tensor(idv, idsShape, 'int32');
          return grad((v: Tensor) => gather(v, idx, c.axis))(x, tensor(dyv, outShape));
        }),
      );
      close(wasm, cpu);
    });
  }
});

describe('stock tf.layers.embedding trains with model.fit on wasm', () => {
  // Sequences of 6 ids over a vocabulary of 30 (0 is padding); the label is whether id 7 occurs.
  const model = () => {
    const m = tfl.sequential();
    m.add(tfl.layers.embedding({ inputDim: 30, outputDim: 8, inputLength: 6 }));
    m.add(tfl.layers.globalAveragePooling1d());
    m.add(tfl.layers.dense({ units: 1, activation: 'sigmoid' }));
    return m;
  };
  const rand = seededRandom(7);
  const idv = Array.from({ length: 64 * 6 }, () => Math.floor(rand() * 30));
  const labels = Array.from({ length: 64 }, (_, b) =>
    idv.slice(b * 6, b * 6 + 6).includes(7) ? 1 : 0,
  );

  it('without this kernel model.fit throws (tfjs#8082), with it the loss falls', async () => {
    const xs = tensor(idv, [64, 6], 'float32');
    const ys = tensor(labels, [64, 1]);
    const m = model();
    m.compile({ optimizer: train.adam(0.05), loss: 'binaryCrossentropy' });
    unregisterKernel(UnsortedSegmentSum, 'wasm');
    try {
      await expect(m.fit(xs, ys, { epochs: 1, verbose: 0 })).rejects.toThrow(/UnsortedSegmentSum/);
    } finally {
      registerKernel(unsortedSegmentSumConfig);
    }
    const history = await m.fit(xs, ys, { epochs: 30, batchSize: 16, verbose: 0 });
    const loss = history.history['loss'] as number[];
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]! * 0.5);
    m.dispose();
    dispose([xs, ys]);
  });

  it("one training step gives cpu's weights", async () => {
    const step = async () => {
      const m = model();
      m.compile({ optimizer: train.sgd(0.5), loss: 'binaryCrossentropy' });
      // The same starting point on both backends.
      const start = seededRandom(3);
      const initial = m.getWeights().map((w) =>
        tensor(
          Array.from({ length: w.size }, () => start() - 0.5),
          w.shape,
        ),
      );
      m.setWeights(initial);
      const xs = tensor(idv, [64, 6], 'float32');
      const ys = tensor(labels, [64, 1]);
      await m.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      const weights = await Promise.all(
        m.getWeights().map(async (w) => Array.from(await w.data())),
      );
      m.dispose();
      dispose([xs, ys, ...initial]);
      return weights.flat();
    };
    expect(await setBackend('cpu')).toBe(true);
    const cpu = await step();
    expect(await setBackend('wasm')).toBe(true);
    const wasm = await step();
    close(wasm, cpu);
  });
});
