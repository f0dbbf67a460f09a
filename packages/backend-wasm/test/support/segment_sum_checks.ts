/**
 * Checks of the wasm UnsortedSegmentSum (src/segment_sum.ts), shared by the Node and browser test
 * files: hand-worked literals and errors here (run with the wasm backend active), and the
 * comparison with tfjs-backend-cpu's kernel on seeded random inputs (Node, where both backends are
 * registered).
 */
import { seededRandom } from '@masked-ops/core/testing';
import {
  type DataType,
  dispose,
  engine,
  memory,
  setBackend,
  type Tensor,
  type Tensor1D,
  tensor,
  unsortedSegmentSum,
} from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { wasmHeapMemory } from '../../src/index.js';
import { failNthAllocation, poisonAllocations, type RawBackend } from './fail_allocation.js';

interface Literal {
  name: string;
  x: number[];
  xShape: number[];
  dtype: 'float32' | 'int32';
  ids: number[];
  idsShape?: number[];
  numSegments: number;
  /** Worked out by hand. */
  expected: number[];
  expectedShape: number[];
}

export const SEGMENT_SUM_LITERALS: Literal[] = [
  {
    name: 'rows of 2, a duplicate id, a negative id and one past the end (both dropped)',
    x: [1, 2, 3, 4, 5, 6, 7, 8],
    xShape: [4, 2],
    dtype: 'float32',
    ids: [1, -1, 1, 5],
    numSegments: 3,
    expected: [0, 0, 6, 8, 0, 0],
    expectedShape: [3, 2],
  },
  {
    name: 'the same in int32: an int32 result',
    x: [1, 2, 3, 4, 5, 6, 7, 8],
    xShape: [4, 2],
    dtype: 'int32',
    ids: [1, -1, 1, 5],
    numSegments: 3,
    expected: [0, 0, 6, 8, 0, 0],
    expectedShape: [3, 2],
  },
  {
    name: 'rank 1',
    x: [1.5, 2, 3, -0.5],
    xShape: [4],
    dtype: 'float32',
    ids: [0, 3, 0, 2],
    numSegments: 3,
    expected: [4.5, 0, -0.5],
    expectedShape: [3],
  },
  {
    name: 'rank 3, rows of [2, 2]',
    x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    xShape: [3, 2, 2],
    dtype: 'float32',
    ids: [2, 0, 2],
    numSegments: 3,
    expected: [5, 6, 7, 8, 0, 0, 0, 0, 10, 12, 14, 16],
    expectedShape: [3, 2, 2],
  },
  {
    name: 'rows of 9 (two SIMD vectors and a tail), int32',
    x: Array.from({ length: 27 }, (_, i) => i - 13),
    xShape: [3, 9],
    dtype: 'int32',
    ids: [1, 1, 0],
    numSegments: 2,
    // Row 0 is -13..-5, row 1 is -4..4, row 2 is 5..13: segment 0 = row 2, segment 1 = rows 0 + 1.
    expected: [
      ...Array.from({ length: 9 }, (_, i) => 5 + i),
      ...Array.from({ length: 9 }, (_, i) => -17 + 2 * i),
    ],
    expectedShape: [2, 9],
  },
  {
    name: 'NaN and Inf stay in their segment',
    x: [Number.NaN, 1, Number.POSITIVE_INFINITY, 2],
    xShape: [4],
    dtype: 'float32',
    ids: [0, 1, 1, 2],
    numSegments: 3,
    expected: [Number.NaN, Number.POSITIVE_INFINITY, 2],
    expectedShape: [3],
  },
  {
    name: 'numSegments 0: an empty result',
    x: [1, 2, 3, 4],
    xShape: [2, 2],
    dtype: 'float32',
    ids: [0, 0],
    numSegments: 0,
    expected: [],
    expectedShape: [0, 2],
  },
  {
    name: 'no rows: zeros',
    x: [],
    xShape: [0, 3],
    dtype: 'float32',
    ids: [],
    numSegments: 2,
    expected: [0, 0, 0, 0, 0, 0],
    expectedShape: [2, 3],
  },
  {
    name: "2-D ids of x's two leading axes, as tfjs-backend-cpu takes them",
    x: [1, 2, 3, 4],
    xShape: [2, 2],
    dtype: 'float32',
    ids: [0, 1, 1, 1],
    idsShape: [2, 2],
    numSegments: 2,
    // out[s, j] = sum over i of x[i, j] where ids[i, j] = s: [[1, 0], [3, 2 + 4]].
    expected: [1, 0, 3, 6],
    expectedShape: [2, 2],
  },
];

/**
 * One literal on the active (wasm) backend, its output poisoned when allocated (every segment,
 * named by an id or not, must be written).
 */
export async function checkSegmentSumLiteral(l: Literal): Promise<void> {
  const before = memory().numTensors;
  const x = tensor(l.x, l.xShape, l.dtype);
  const ids = tensor(l.ids, l.idsShape ?? [l.ids.length], 'int32');
  const restore = poisonAllocations(wasmHeapMemory);
  let y: Tensor;
  try {
    y = unsortedSegmentSum(x, ids as Tensor1D, l.numSegments);
  } finally {
    restore();
  }
  expect(y.dtype).toBe(l.dtype);
  expect(y.shape).toEqual(l.expectedShape);
  expect(Array.from(await y.data())).toEqual(l.expected);
  dispose([x, ids, y]);
  expect(memory().numTensors).toBe(before);
}

/** Inputs the kernel refuses, with the message it gives. */
export const SEGMENT_SUM_ERRORS: {
  name: string;
  x: () => Tensor;
  ids: () => Tensor;
  numSegments: number;
  message: RegExp;
}[] = [
  {
    name: 'x bool',
    x: () => tensor([true, false], [2], 'bool'),
    ids: () => tensor([0, 1], [2], 'int32'),
    numSegments: 2,
    message: /x must be float32 or int32 on wasm, got dtype bool/,
  },
  {
    name: 'ids not one per row',
    x: () => tensor([1, 2, 3, 4], [2, 2]),
    ids: () => tensor([0, 1, 1], [3], 'int32'),
    numSegments: 2,
    message:
      /unsortedSegmentSum \(x\.shape \[2,2\], segmentIds\.shape \[3\]\): segmentIds must hold one id per row of x \(shape \[2\]\)/,
  },
];

export function checkSegmentSumError(e: (typeof SEGMENT_SUM_ERRORS)[number]): void {
  const x = e.x();
  const ids = e.ids();
  const before = memory().numTensors;
  expect(() => unsortedSegmentSum(x, ids as Tensor1D, e.numSegments)).toThrow(e.message);
  expect(memory().numTensors).toBe(before);
  dispose([x, ids]);
}

/**
 * An output allocation at the heap limit: a clear error, nothing leaked or written, and the next
 * call right.
 */
export async function checkSegmentSumOutOfMemory(): Promise<void> {
  const backend = engine().backend as unknown as RawBackend;
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const ids = tensor([1, 1], [2], 'int32');
  const heap = wasmHeapMemory();
  const low = new Uint8Array(heap.buffer, 0, 4096).slice();
  const tensors = memory().numTensors;
  const dataIds = backend.numDataIds();
  const restore = failNthAllocation(0);
  try {
    expect(() => unsortedSegmentSum(x, ids as Tensor1D, 2)).toThrow(
      /^unsortedSegmentSum: out of memory on the wasm backend: could not allocate the \[2,2\] float32 output \(16 bytes\)/,
    );
  } finally {
    restore();
  }
  expect(memory().numTensors).toBe(tensors);
  expect(backend.numDataIds()).toBe(dataIds);
  expect(new Uint8Array(heap.buffer, 0, 4096)).toEqual(low);
  const y = unsortedSegmentSum(x, ids as Tensor1D, 2);
  expect(Array.from(await y.data())).toEqual([0, 0, 4, 6]);
  dispose([x, ids, y]);
}

/** A seeded random call: x of rank 1 to 3 with ids (duplicates, out of range) in its dtype. */
export interface RandomSegmentCase {
  name: string;
  x: number[];
  xShape: number[];
  dtype: 'float32' | 'int32';
  ids: number[];
  idsShape: number[];
  numSegments: number;
}

export function randomSegmentCases(seed = 8082, count = 40): RandomSegmentCase[] {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: RandomSegmentCase[] = [];
  for (let n = 0; n < count; n++) {
    const rank = 1 + (n % 3);
    const dtype = n % 2 === 0 ? 'float32' : 'int32';
    const xShape = [int(0, 12), ...Array.from({ length: rank - 1 }, () => int(1, 9))];
    // The cpu kernel cannot pack zero segments: at least one.
    const numSegments = int(1, 6);
    const size = xShape.reduce((p, d) => p * d, 1);
    const x = Array.from({ length: size }, () =>
      dtype === 'int32' ? int(-50, 50) : (rand() - 0.5) * 20,
    );
    // Ids of the first axis (and, in some cases of rank 2, of both axes, which tfjs-backend-cpu
    // takes column by column; it cannot broadcast 2-D ids over x of rank 3), in
    // [-2, numSegments + 2).
    const idsShape = rank === 2 && n % 4 === 1 ? xShape.slice() : xShape.slice(0, 1);
    const idsSize = idsShape.reduce((p, d) => p * d, 1);
    const ids = Array.from({ length: idsSize }, () => int(-2, numSegments + 1));
    cases.push({
      name: `random #${n}: ${dtype} x [${xShape}], ids [${idsShape}], ${numSegments} segments`,
      x,
      xShape,
      dtype,
      ids,
      idsShape,
      numSegments,
    });
  }
  return cases;
}

const run = (c: RandomSegmentCase, dtype: DataType = c.dtype) => {
  const x = tensor(c.x, c.xShape, dtype);
  const ids = tensor(c.ids, c.idsShape, 'int32');
  const y = unsortedSegmentSum(x, ids as Tensor1D, c.numSegments);
  const out = { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
  dispose([x, ids, y]);
  return out;
};

/**
 * The case on tfjs-backend-cpu and on wasm: same shape, same values (float32 sums within
 * 1e-5 relative: both add the rows in order, but the cpu kernel also adds the zeros of the other
 * segments). The cpu kernel returns float32 for int32 x (its mask multiply upcasts); wasm keeps
 * int32, as webgl and TensorFlow do. Leaves wasm active.
 */
export async function checkSegmentSumAgainstCpu(c: RandomSegmentCase): Promise<void> {
  expect(await setBackend('cpu')).toBe(true);
  const want = run(c);
  expect(await setBackend('wasm')).toBe(true);
  const got = run(c);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(c.dtype);
  expect(got.values.length).toBe(want.values.length);
  got.values.forEach((v, i) => {
    expect(
      Math.abs(v - want.values[i]!),
      `element ${i}: ${v} vs cpu ${want.values[i]}`,
    ).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.values[i]!)));
  });
}
