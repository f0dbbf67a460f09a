import type { DataType } from '@tensorflow/tfjs-core';

/** A bad call and the message it must throw (docs/SPEC.md "Errors"). */
export interface ErrorCase {
  name: string;
  xShape: number[];
  xDtype: DataType;
  maskShape: number[];
  maskDtype: DataType;
  axis?: unknown;
  keepDims?: unknown;
  /** Dispose this input before the call: the op must refuse it, naming it. */
  disposed?: 'x' | 'mask';
  /** The message must match this (and start with the op's name). */
  message: RegExp;
}

export const errorCases: ErrorCase[] = [
  {
    name: 'mask shape is not the leading dims of x',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [3, 4],
    maskDtype: 'bool',
    message:
      /mask\.shape must equal the leading dimensions of x.*got \[3,4\].*x\.shape \[2,3,4\], mask\.shape \[3,4\]/,
  },
  {
    name: 'mask of higher rank than x',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [2, 3, 1],
    maskDtype: 'bool',
    message:
      /mask\.shape must equal the leading dimensions of x.*x\.shape \[2,3\], mask\.shape \[2,3,1\]/,
  },
  {
    name: 'scalar mask',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [],
    maskDtype: 'bool',
    message: /mask must have rank >= 1.*x\.shape \[2,3\], mask\.shape \[\]/,
  },
  {
    name: 'non-integer axis',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: 1.5,
    message: /axis must be an integer or an array of integers, got 1\.5.*x\.shape \[2,3,4\]/,
  },
  {
    name: 'axis out of range',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: 3,
    message: /axis 3 is out of range for x of rank 3 \(valid: -3\.\.2\).*x\.shape \[2,3,4\]/,
  },
  {
    name: 'negative axis out of range',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: [-4],
    message: /axis -4 is out of range for x of rank 3/,
  },
  {
    name: 'repeated axis',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: [1, -2],
    message: /axis \[1,-2\] repeats axis 1.*mask\.shape \[2,3\]/,
  },
  {
    name: 'axis outside the mask dims',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: -1,
    message: /axis -1 is not a mask dimension: the mask covers x's axes 0\.\.1.*x\.shape \[2,3,4\]/,
  },
  {
    name: 'string x',
    xShape: [2, 3],
    xDtype: 'string',
    maskShape: [2, 3],
    maskDtype: 'bool',
    message: /x must be float32 or int32, got dtype string.*x\.shape \[2,3\]/,
  },
  {
    name: 'bool x',
    xShape: [2, 3],
    xDtype: 'bool',
    maskShape: [2],
    maskDtype: 'bool',
    message: /x must be float32 or int32, got dtype bool/,
  },
  {
    name: 'complex64 x',
    xShape: [2, 3],
    xDtype: 'complex64',
    maskShape: [2],
    maskDtype: 'bool',
    message: /x must be float32 or int32, got dtype complex64/,
  },
  {
    name: 'string mask',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'string',
    message: /mask must be bool, int32 or float32, got dtype string.*mask\.shape \[2,3\]/,
  },
  {
    name: 'complex64 mask',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [2],
    maskDtype: 'complex64',
    message: /mask must be bool, int32 or float32, got dtype complex64/,
  },
  {
    name: 'scalar x',
    xShape: [],
    xDtype: 'float32',
    maskShape: [],
    maskDtype: 'bool',
    message: /x must have rank >= 1, got a scalar.*x\.shape \[\]/,
  },
  {
    name: 'non-boolean keepDims',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    keepDims: 1,
    message: /keepDims must be a boolean, got 1/,
  },
  {
    name: 'NaN axis',
    xShape: [2, 3],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    axis: Number.NaN,
    message: /axis must be an integer or an array of integers, got NaN/,
  },
  {
    name: 'disposed x',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    disposed: 'x',
    message: /x is disposed \(x\.shape \[2,3,4\]\)/,
  },
  {
    name: 'disposed mask',
    xShape: [2, 3, 4],
    xDtype: 'float32',
    maskShape: [2, 3],
    maskDtype: 'bool',
    disposed: 'mask',
    message: /mask is disposed \(mask\.shape \[2,3\]\)/,
  },
];

/** A bad call with raw (non-tensor) arguments, exactly as a user may write it. */
export interface RawErrorCase {
  name: string;
  x: unknown;
  mask: unknown;
  axis?: unknown;
  message: RegExp;
}

export const rawErrorCases: RawErrorCase[] = [
  {
    name: 'null x',
    x: null,
    mask: [1, 0],
    message: /x must be a Tensor or a TensorLike.*got null/,
  },
  {
    name: 'undefined mask',
    x: [1, 2],
    mask: undefined,
    message: /mask must be a Tensor or a TensorLike.*got undefined/,
  },
  {
    name: 'plain object x',
    x: {},
    mask: [1],
    message: /x must be a Tensor or a TensorLike.*got an object \(Object\)/,
  },
  {
    name: 'ragged nested array x',
    x: [[1, 2], [3]],
    mask: [1, 1],
    axis: 0,
    message: /x is a ragged nested array/,
  },
  {
    name: 'ragged nested array mask',
    x: [
      [1, 2],
      [3, 4],
    ],
    mask: [[1], [1, 0]],
    message: /mask is a ragged nested array/,
  },
  {
    name: 'BigInt axis',
    x: [[1, 2]],
    mask: [[1, 1]],
    axis: 1n,
    message: /axis must be an integer or an array of integers, got 1n.*x\.shape \[1,2\]/,
  },
  {
    name: 'Infinity axis',
    x: [[1, 2]],
    mask: [[1, 1]],
    axis: [Number.POSITIVE_INFINITY],
    message: /axis must be an integer or an array of integers, got \[Infinity\]/,
  },
];
