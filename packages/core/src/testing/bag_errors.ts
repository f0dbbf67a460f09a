import { type Tensor, tensor, zeros } from '@tensorflow/tfjs-core';

/** A bad call of `embeddingBag`: its arguments (made fresh per test) and the expected message. */
export interface BagErrorCase {
  name: string;
  /** The arguments `(weight, ids, options)`, and the tensors to dispose afterwards. */
  make: () => { args: unknown[]; owned: Tensor[] };
  message: RegExp;
}

const w = (n = 5, d = 2): Tensor => zeros([n, d]);
const ids2 = (): Tensor =>
  tensor(
    [
      [1, 2],
      [3, 0],
    ],
    [2, 2],
    'int32',
  );
const ids1 = (): Tensor => tensor([1, 2, 3], [3], 'int32');
const offs = (values = [0, 2]): Tensor => tensor(values, [values.length], 'int32');

const call = (
  weight: Tensor,
  ids: Tensor,
  options?: Record<string, unknown>,
  more: Tensor[] = [],
) => ({
  args: options === undefined ? [weight, ids] : [weight, ids, options],
  owned: [weight, ids, ...more],
});

/** Every static error of docs/SPEC.md "Embedding bag": thrown before any kernel runs. */
export const bagErrorCases: BagErrorCase[] = [
  {
    name: 'mode not sum/mean/max',
    make: () => call(w(), ids2(), { mode: 'avg' }),
    message: /mode must be 'sum', 'mean' or 'max', got "avg"/,
  },
  {
    name: 'weight of rank 1',
    make: () => call(zeros([5]), ids2()),
    message:
      /weight must be 2-D \[numEmbeddings, dim\], got rank 1 \(weight\.shape \[5\], ids\.shape \[2,2\]\)/,
  },
  {
    name: 'weight int32',
    make: () => call(zeros([5, 2], 'int32'), ids2()),
    message: /weight must be float32, got dtype int32/,
  },
  {
    name: 'ids float32',
    make: () => call(w(), tensor([[1, 2]], [1, 2])),
    message: /ids must be int32, got dtype float32/,
  },
  {
    name: 'ids of rank 3',
    make: () => call(w(), zeros([1, 2, 2], 'int32')),
    message: /ids must be 2-D \[batch, bagLen\] \(padded bags\), or 1-D with offsets, got rank 3/,
  },
  {
    name: '1-D ids without offsets',
    make: () => call(w(), ids1()),
    message: /ids must be 2-D .* got rank 1/,
  },
  {
    name: '2-D ids with offsets',
    make: () => {
      const o = offs();
      return call(w(), ids2(), { offsets: o }, [o]);
    },
    message: /ids must be 1-D when offsets are given, got rank 2/,
  },
  {
    name: 'offsets float32',
    make: () => {
      const o = tensor([0, 1]);
      return call(w(), ids1(), { offsets: o }, [o]);
    },
    message: /offsets must be int32, got dtype float32/,
  },
  {
    name: 'offsets of rank 2',
    make: () => {
      const o = zeros([1, 2], 'int32');
      return call(w(), ids1(), { offsets: o }, [o]);
    },
    message: /offsets must be 1-D, got rank 2/,
  },
  {
    name: 'includeLastOffset without offsets',
    make: () => call(w(), ids2(), { includeLastOffset: true }),
    message: /includeLastOffset needs offsets/,
  },
  {
    name: 'includeLastOffset not a boolean',
    make: () => {
      const o = offs();
      return call(w(), ids1(), { offsets: o, includeLastOffset: 1 }, [o]);
    },
    message: /includeLastOffset must be a boolean, got 1/,
  },
  {
    name: 'includeLastOffset with empty offsets',
    make: () => {
      const o = offs([]);
      return call(w(), ids1(), { offsets: o, includeLastOffset: true }, [o]);
    },
    message: /with includeLastOffset, offsets must hold at least one element/,
  },
  {
    name: 'perSampleWeights with mode mean',
    make: () => {
      const p = zeros([2, 2]);
      return call(w(), ids2(), { mode: 'mean', perSampleWeights: p }, [p]);
    },
    message: /perSampleWeights are only supported with mode 'sum', got mode "mean"/,
  },
  {
    name: 'perSampleWeights with the default mode',
    make: () => {
      const p = zeros([2, 2]);
      return call(w(), ids2(), { perSampleWeights: p }, [p]);
    },
    message: /perSampleWeights are only supported with mode 'sum', got mode "mean"/,
  },
  {
    name: 'perSampleWeights of another shape',
    make: () => {
      const p = zeros([2, 3]);
      return call(w(), ids2(), { mode: 'sum', perSampleWeights: p }, [p]);
    },
    message:
      /perSampleWeights must have the shape of ids \(weight\.shape \[5,2\], ids\.shape \[2,2\], perSampleWeights\.shape \[2,3\]\)/,
  },
  {
    name: 'perSampleWeights int32',
    make: () => {
      const p = zeros([2, 2], 'int32');
      return call(w(), ids2(), { mode: 'sum', perSampleWeights: p }, [p]);
    },
    message: /perSampleWeights must be float32, got dtype int32/,
  },
  {
    name: 'paddingId not an integer',
    make: () => call(w(), ids2(), { paddingId: 1.5 }),
    message: /paddingId must be an integer, got 1\.5/,
  },
  {
    name: 'paddingId = numEmbeddings',
    make: () => call(w(), ids2(), { paddingId: 5 }),
    message: /paddingId 5 is out of range for 5 embeddings \(valid: -5\.\.4\)/,
  },
  {
    name: 'paddingId below -numEmbeddings',
    make: () => call(w(), ids2(), { paddingId: -6 }),
    message: /paddingId -6 is out of range for 5 embeddings/,
  },
  {
    name: 'options not an object',
    make: () => call(w(), ids2(), 'sum' as unknown as Record<string, unknown>),
    message: /options must be an object, got sum/,
  },
  {
    name: 'disposed weight',
    make: () => {
      const x = w();
      x.dispose();
      return call(x, ids2());
    },
    message: /weight is disposed \(weight\.shape \[5,2\]\)/,
  },
  {
    name: 'disposed ids',
    make: () => {
      const i = ids2();
      i.dispose();
      return call(w(), i);
    },
    message: /ids is disposed/,
  },
  {
    name: 'ids a ragged array',
    make: () => {
      const x = w();
      return { args: [x, [[1, 2], [3]]], owned: [x] };
    },
    message: /ids is a ragged nested array/,
  },
  {
    name: 'ids array of non-integers',
    make: () => {
      const x = w();
      return { args: [x, [[1, 2.5]]], owned: [x] };
    },
    message: /ids must be int32, got dtype float32/,
  },
];

/**
 * Errors that depend on the ids' and offsets' values: thrown by the kernels that read them on the
 * host (cpu, wasm), before they write anything.
 */
export const bagValueErrorCases: BagErrorCase[] = [
  {
    name: 'a negative id that is not the padding id',
    make: () => call(w(), tensor([[1, -1]], [1, 2], 'int32')),
    message: /^embeddingBag: ids\[1\] = -1 is outside \[0, 5\) \(weight\.shape \[5,2\]\)/,
  },
  {
    name: 'offsets not starting at 0',
    make: () => {
      const o = offs([1, 2]);
      return call(w(), ids1(), { offsets: o }, [o]);
    },
    message:
      /offsets must start at 0, never decrease and end at most at ids\.size 3: offsets\[0\] = 1/,
  },
  {
    name: 'decreasing offsets',
    make: () => {
      const o = offs([0, 2, 1]);
      return call(w(), ids1(), { offsets: o }, [o]);
    },
    message: /never decrease.*offsets\[2\] = 1 < offsets\[1\] = 2/,
  },
  {
    name: 'offsets beyond the ids',
    make: () => {
      const o = offs([0, 4]);
      return call(w(), ids1(), { offsets: o }, [o]);
    },
    message: /end at most at ids\.size 3: offsets\[1\] = 4/,
  },
];
