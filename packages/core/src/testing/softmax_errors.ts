import { type Tensor, tensor } from '@tensorflow/tfjs-core';

/** A bad call of a masked softmax, the tensors it made, and what its error must say. */
export interface SoftmaxErrorCase {
  name: string;
  make: () => { args: unknown[]; owned: Tensor[] };
  /** Matched after the op's name; every message also names the shapes. */
  message: RegExp;
}

const ones = (shape: number[], dtype: 'float32' | 'bool' | 'int32' | 'string' = 'float32') => {
  const n = shape.reduce((p, d) => p * d, 1);
  return dtype === 'string'
    ? tensor(new Array<string>(n).fill('a'), shape)
    : tensor(new Array<number>(n).fill(1), shape, dtype);
};

const call = (logits: Tensor, mask: Tensor, ...rest: unknown[]) => ({
  args: [logits, mask, ...rest],
  owned: [logits, mask],
});

export const softmaxErrorCases: SoftmaxErrorCase[] = [
  {
    name: 'a mask that does not broadcast to the logits',
    make: () => call(ones([2, 4]), ones([2, 3], 'bool')),
    message:
      /mask\.shape does not broadcast to logits\.shape: mask dim 1 is 3, logits dim 1 is 4.*\(logits\.shape \[2,4\], mask\.shape \[2,3\]\)$/,
  },
  {
    name: 'a mask that would enlarge the output',
    make: () => call(ones([1, 4]), ones([3, 4], 'bool')),
    message: /mask dim 0 is 3, logits dim 0 is 1.*\(logits\.shape \[1,4\], mask\.shape \[3,4\]\)$/,
  },
  {
    name: 'a mask of higher rank than the logits',
    make: () => call(ones([4]), ones([1, 4], 'bool')),
    message:
      /mask has rank 2, more than the logits' 1.*\(logits\.shape \[4\], mask\.shape \[1,4\]\)$/,
  },
  {
    name: 'an axis out of range',
    make: () => call(ones([2, 4]), ones([4], 'bool'), 2),
    message: /axis 2 is out of range for logits of rank 2 \(valid: -2\.\.1\)/,
  },
  {
    name: 'a non-integer axis',
    make: () => call(ones([2, 4]), ones([4], 'bool'), 0.5),
    message: /axis must be an integer, got 0\.5/,
  },
  {
    name: 'an array axis',
    make: () => call(ones([2, 4]), ones([4], 'bool'), [1]),
    message: /axis must be an integer, got \[1\]/,
  },
  {
    name: 'bool logits',
    make: () => call(ones([2, 4], 'bool'), ones([4], 'bool')),
    message: /logits must be float32 or int32, got dtype bool/,
  },
  {
    name: 'a string mask',
    make: () => call(ones([2, 4]), ones([4], 'string')),
    message: /mask must be bool, int32 or float32, got dtype string/,
  },
  {
    name: 'scalar logits',
    make: () => call(ones([]), ones([], 'bool')),
    message: /logits must have rank >= 1, got a scalar/,
  },
  {
    name: 'disposed logits',
    make: () => {
      const r = call(ones([2, 4]), ones([4], 'bool'));
      r.owned[0]!.dispose();
      return r;
    },
    message: /^[a-zA-Z]+: logits is disposed \(logits\.shape \[2,4\]\)$/,
  },
  {
    name: 'a disposed mask',
    make: () => {
      const r = call(ones([2, 4]), ones([4], 'bool'));
      r.owned[1]!.dispose();
      return r;
    },
    message: /mask is disposed \(mask\.shape \[4\]\)$/,
  },
  {
    name: 'a ragged nested array',
    make: () => ({
      args: [
        [[1, 2], [3]],
        [1, 1],
      ],
      owned: [],
    }),
    message: /logits is a ragged nested array/,
  },
];
