// GlobalMaxPooling1D as a layer: shapes, data formats, keepDims, masks, config (cpu backend).
import '@tensorflow/tfjs-backend-cpu';
import '@masked-ops/backend-cpu';
import { memory, setBackend, type Tensor, tensor, tensor2d, tensor3d } from '@tensorflow/tfjs-core';
import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { GlobalAveragePooling1D, GlobalMaxPooling1D, globalMaxPooling1d } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

// x: batch 2, steps 3, features 2. The masked step 2 of row 0 holds NaN and 50, both of which
// would decide the max if counted; row 1 is all masked.
const X_STEPS_LAST = [
  [
    [1, -10],
    [3, -30],
    [Number.NaN, 50],
  ],
  [
    [2, 20],
    [4, 40],
    [6, 60],
  ],
];
const MASK = [
  [true, true, false],
  [false, false, false],
];
// By hand: row 0 over steps 0 and 1: [max(1, 3), max(-10, -30)]; row 1: no valid step -> 0.
const MASKED = [
  [3, -10],
  [0, 0],
];

async function run(layer: layers.Layer, x: Tensor, mask?: Tensor): Promise<unknown> {
  const y = layer.apply(x, mask ? { mask } : {}) as Tensor;
  const out = { shape: y.shape, values: await y.array() };
  y.dispose();
  return out;
}

describe('GlobalMaxPooling1D', () => {
  it('is a masking layer named like tfjs’s and Keras’s', () => {
    const layer = globalMaxPooling1d();
    expect(GlobalMaxPooling1D.className).toBe('GlobalMaxPooling1D');
    expect(layer.getClassName()).toBe('GlobalMaxPooling1D');
    expect(layer).toBeInstanceOf(layers.Layer);
    expect(layer).not.toBeInstanceOf(GlobalAveragePooling1D);
    expect(layer.supportsMasking).toBe(true);
    const m = tensor2d([[1, 0]], undefined, 'bool');
    expect(layer.computeMask(tensor3d([[[1], [2]]]), m)).toBeNull();
    m.dispose();
  });

  it('channelsLast with a mask: max over valid steps, masked NaN / larger values ignored, all-masked row 0', async () => {
    const x = tensor3d(X_STEPS_LAST);
    const mask = tensor2d(MASK, undefined, 'bool');
    expect(await run(globalMaxPooling1d(), x, mask)).toEqual({ shape: [2, 2], values: MASKED });
    expect(await run(globalMaxPooling1d({ keepDims: true }), x, mask)).toEqual({
      shape: [2, 1, 2],
      values: MASKED.map((r) => [r]),
    });
  });

  it('without a mask it computes what tfjs-layers’ own GlobalMaxPooling1D does', async () => {
    const x = tensor3d([
      [
        [1, -10],
        [3, -30],
        [-5, 50],
      ],
      [
        [2, 20],
        [4, 40],
        [6, 60],
      ],
    ]);
    const ours = (await run(globalMaxPooling1d(), x)) as { values: number[][] };
    const stock = await run(layers.globalMaxPooling1d({}), x);
    expect(ours).toEqual(stock);
    expect(ours.values).toEqual([
      [3, 50],
      [6, 60],
    ]);
  });

  it('a float or int32 mask works like a bool one', async () => {
    const x = tensor3d(X_STEPS_LAST);
    for (const dtype of ['float32', 'int32'] as const) {
      const mask = tensor2d(
        MASK.map((r) => r.map(Number)),
        undefined,
        dtype,
      );
      expect(await run(globalMaxPooling1d(), x, mask)).toEqual({ shape: [2, 2], values: MASKED });
    }
  });

  it('channelsFirst ([batch, features, steps]) with and without a mask, with and without keepDims', async () => {
    // The same data as X_STEPS_LAST, transposed by hand to [batch, features, steps].
    const x = tensor3d([
      [
        [1, 3, Number.NaN],
        [-10, -30, 50],
      ],
      [
        [2, 4, 6],
        [20, 40, 60],
      ],
    ]);
    const mask = tensor2d(MASK, undefined, 'bool');
    expect(await run(globalMaxPooling1d({ dataFormat: 'channelsFirst' }), x, mask)).toEqual({
      shape: [2, 2],
      values: MASKED,
    });
    expect(
      await run(globalMaxPooling1d({ dataFormat: 'channelsFirst', keepDims: true }), x, mask),
    ).toEqual({
      shape: [2, 2, 1],
      values: MASKED.map((r) => r.map((v) => [v])),
    });
    const plain = (await run(
      globalMaxPooling1d({ dataFormat: 'channels_first', keepDims: true }),
      x,
    )) as { shape: number[]; values: number[][][] };
    expect(plain.shape).toEqual([2, 2, 1]);
    expect(plain.values[1]).toEqual([[6], [60]]);
    expect(plain.values[0]![1]).toEqual([50]);
  });

  it('a mask of x’s full shape (channelsLast) is accepted', async () => {
    const x = tensor3d(X_STEPS_LAST);
    const mask = tensor3d(
      [
        [
          [1, 1],
          [1, 0],
          [0, 1],
        ],
        [
          [0, 0],
          [0, 0],
          [0, 1],
        ],
      ],
      undefined,
      'bool',
    );
    // Per (row, feature): row 0 f0: max(1, 3), f1: max(-10, 50); row 1 f0: none -> 0, f1: 60.
    expect(await run(globalMaxPooling1d(), x, mask)).toEqual({
      shape: [2, 2],
      values: [
        [3, 50],
        [0, 60],
      ],
    });
  });

  it('computeOutputShape matches the tensors it produces, and symbolic apply', () => {
    const cases: [ConstructorParameters<typeof GlobalMaxPooling1D>[0], number[]][] = [
      [{}, [null as never, 7]],
      [{ keepDims: true }, [null as never, 1, 7]],
      [{ dataFormat: 'channelsFirst' }, [null as never, 5]],
      [{ dataFormat: 'channelsFirst', keepdims: true }, [null as never, 5, 1]],
    ];
    for (const [args, shape] of cases) {
      const layer = globalMaxPooling1d(args);
      expect(layer.computeOutputShape([null, 5, 7])).toEqual(shape);
      const sym = layer.apply(layers.input({ shape: [5, 7] })) as SymbolicTensor;
      expect(sym.shape).toEqual(shape);
      const x = tensor(new Float32Array(2 * 5 * 7).fill(1), [2, 5, 7]);
      const y = globalMaxPooling1d(args).apply(x) as Tensor;
      expect(y.shape).toEqual(shape.map((d) => d ?? 2));
      x.dispose();
      y.dispose();
    }
  });

  it('getConfig: tfjs’s keys plus Keras’s data_format / keepdims', () => {
    expect(globalMaxPooling1d({ name: 'gmp0' }).getConfig()).toEqual({
      name: 'gmp0',
      trainable: true,
      dataFormat: 'channelsLast',
      keepdims: false,
    });
    const config = globalMaxPooling1d({
      name: 'gmp',
      inputShape: [5, 7],
      dataFormat: 'channelsFirst',
      keepDims: true,
    }).getConfig();
    expect(config).toEqual({
      name: 'gmp',
      trainable: true,
      batchInputShape: [null, 5, 7],
      dtype: 'float32',
      dataFormat: 'channelsFirst',
      keepdims: true,
    });
    // tfjs-layers' own layer has a subset of these keys.
    const stockKeys = Object.keys(
      layers.globalMaxPooling1d({ name: 'g2', inputShape: [5, 7] }).getConfig(),
    );
    expect(stockKeys.sort()).toEqual(['batchInputShape', 'dtype', 'name', 'trainable']);
    expect(stockKeys.every((k) => k in config)).toBe(true);
    // The constructor reads its own config back (what fromConfig does).
    const copy = new GlobalMaxPooling1D(config as never);
    expect(copy.getConfig()).toEqual(config);
  });

  it('rejects a bad dataFormat, a non-3-D input and a mask of the wrong shape', () => {
    expect(() => globalMaxPooling1d({ dataFormat: 'NHWC' as never })).toThrow(
      /GlobalMaxPooling1D: dataFormat/,
    );
    expect(() => globalMaxPooling1d().apply(tensor2d([[1, 2]]))).toThrow(/ndim|rank|3/i);
    expect(() => globalMaxPooling1d({ name: 'g' }).computeOutputShape([null, 2])).toThrow(
      /g: GlobalMaxPooling1D expects a 3-D input/,
    );
    const x = tensor3d(X_STEPS_LAST);
    const before = memory().numTensors;
    const wrong = tensor2d([[1, 1]], undefined, 'bool');
    expect(() => globalMaxPooling1d().apply(x, { mask: wrong })).toThrow(
      /mask must have shape \[batch, steps\] = \[2, 3\].*got \[1, 2\]/,
    );
    wrong.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('apply with a mask leaks no tensor (both formats, keepDims)', () => {
    const x = tensor3d(X_STEPS_LAST); // [2, 3, 2]: channelsLast steps 3, channelsFirst steps 2
    const masks = {
      channelsLast: tensor2d(MASK, undefined, 'bool'),
      channelsFirst: tensor2d(
        [
          [true, false],
          [false, false],
        ],
        undefined,
        'bool',
      ),
    };
    for (const dataFormat of ['channelsLast', 'channelsFirst'] as const) {
      const layer = globalMaxPooling1d({ dataFormat, keepDims: true });
      (layer.apply(x, { mask: masks[dataFormat] }) as Tensor).dispose(); // builds the layer
      const before = memory().numTensors;
      (layer.apply(x, { mask: masks[dataFormat] }) as Tensor).dispose();
      (layer.apply(x) as Tensor).dispose();
      expect(memory().numTensors).toBe(before);
    }
  });
});
