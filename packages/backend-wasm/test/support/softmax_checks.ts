/**
 * Heap checks of the masked softmax kernels, shared by the Node and browser test files: run them
 * after `setBackend('wasm')` with this package imported. Expected values come from core's float64
 * references (referenceMaskedSoftmax, referenceMaskedSoftmaxGrad) through compareWithReference.
 */
import {
  MASKED_SOFTMAXES,
  type MaskedSoftmaxRow,
  maskedLogSoftmax,
  maskedSoftmax,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from '@masked-ops/core';
import {
  compareWithReference,
  randomFloats,
  randomMask,
  seededRandom,
  type TestApi,
} from '@masked-ops/core/testing';
import { dispose, engine, grad, memory, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { wasmHeapMemory } from '../../src/index.js';
import { failNthAllocation, poisonAllocations, type RawBackend } from './fail_allocation.js';

interface Layout {
  name: string;
  shape: number[];
  maskShape: number[];
  axis: number;
  /** A range of flat mask indices forced to 0 (rows with no valid position). */
  empty?: [number, number];
}

/** One layout per loop of assembly/softmax.ts, each with lengths that leave a scalar tail. */
const LAYOUTS: Layout[] = [
  // 4 lanes along the row, mask read 4 bytes at a time; batch 1 all padding (empty rows).
  {
    name: 'key padding [3,2,5,13] mask [3,1,1,13]',
    shape: [3, 2, 5, 13],
    maskShape: [3, 1, 1, 13],
    axis: 3,
    empty: [13, 26],
  },
  // 4 lanes along the row, the mask broadcast along it (one byte per row, stride 0).
  { name: 'row mask [6,9] mask [6,1]', shape: [6, 9], maskShape: [6, 1], axis: 1 },
  // Rows `inner` floats apart, mask broadcast along the inner dim.
  { name: 'strided [3,7,5] axis 1 mask [3,7,1]', shape: [3, 7, 5], maskShape: [3, 7, 1], axis: 1 },
  // Rows longer than one float32 block of the row sum (float64 partials), and a tail.
  { name: 'long rows [3,1501] full mask', shape: [3, 1501], maskShape: [3, 1501], axis: 1 },
];

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
const opOf = (row: MaskedSoftmaxRow) => (row.log ? maskedLogSoftmax : maskedSoftmax);

interface Inputs {
  layout: Layout;
  logits: Float32Array;
  mask: Uint8Array;
  dy: Float32Array;
}

function makeInputs(layout: Layout, seed: number): Inputs {
  const rand = seededRandom(seed);
  const logits = randomFloats(rand, size(layout.shape), -6, 6);
  const mask = randomMask(rand, size(layout.maskShape), 0.6);
  if (layout.empty) mask.fill(0, ...layout.empty);
  const dy = randomFloats(rand, size(layout.shape), -1, 1);
  return { layout, logits, mask, dy };
}

/** Forward and gradient of `row` on `inputs`, checked against the float64 references. */
async function runAndCheck(row: MaskedSoftmaxRow, inputs: Inputs): Promise<void> {
  const { layout } = inputs;
  const ref = {
    logits: inputs.logits,
    logitsShape: layout.shape,
    mask: inputs.mask,
    maskShape: layout.maskShape,
    axis: layout.axis,
    log: row.log,
  };
  const x = tensor(inputs.logits, layout.shape);
  const mask = tensor(inputs.mask, layout.maskShape, 'bool');
  const dy = tensor(inputs.dy, layout.shape);
  const f = opOf(row);
  const y = f(x, mask, layout.axis);
  const dx = grad((l: Tensor) => f(l, mask, layout.axis))(x, dy);
  try {
    const label = `${row.op} ${layout.name}`;
    compareWithReference(`${label} forward`, await y.data(), referenceMaskedSoftmax(ref));
    compareWithReference(
      `${label} gradient`,
      await dx.data(),
      referenceMaskedSoftmaxGrad(ref, inputs.dy),
    );
  } finally {
    dispose([x, mask, dy, y, dx]);
  }
}

/**
 * tfjs does not zero an output: with every allocation filled with NaN bytes, the forward output
 * and dx are right everywhere (exact zeros / -Inf at masked positions and in empty rows).
 */
async function checkOverwritesStaleMemory(row: MaskedSoftmaxRow): Promise<void> {
  const restore = poisonAllocations(wasmHeapMemory);
  try {
    for (const [i, l] of LAYOUTS.entries()) await runAndCheck(row, makeInputs(l, 40 + i));
  } finally {
    restore();
  }
}

/** Repeated calls (forward and tf.grad) leave tensors, data ids and the heap size unchanged. */
async function checkHeapStable(row: MaskedSoftmaxRow): Promise<void> {
  const heap = wasmHeapMemory();
  const f = opOf(row);
  const made = LAYOUTS.map((l, i) => {
    const inputs = makeInputs(l, 60 + i);
    return {
      inputs,
      x: tensor(inputs.logits, l.shape),
      mask: tensor(inputs.mask, l.maskShape, 'bool'),
      dy: tensor(inputs.dy, l.shape),
    };
  });
  const round = () => {
    for (const { inputs, x, mask, dy } of made) {
      const axis = inputs.layout.axis;
      dispose([f(x, mask, axis), grad((l: Tensor) => f(l, mask, axis))(x, dy)]);
    }
  };
  round(); // warm up: module linked, allocator pools settled
  const tensorsBefore = memory().numTensors;
  const idsBefore = engine().backend.numDataIds();
  const bytesBefore = heap.buffer.byteLength;
  for (let i = 0; i < 100; i++) round();
  expect(memory().numTensors).toBe(tensorsBefore);
  expect(engine().backend.numDataIds()).toBe(idsBefore);
  expect(heap.buffer.byteLength).toBe(bytesBefore);
  dispose(made.flatMap(({ x, mask, dy }) => [x, mask, dy]));
  for (const { inputs } of made) await runAndCheck(row, inputs); // and still right
}

/**
 * At tfjs-wasm's heap limit makeOutput hands back offset 0: the kernels throw a clear error for
 * the output (allocation 0) and for the dims table (allocation 1), and free what they allocated.
 */
function checkOutOfMemory(row: MaskedSoftmaxRow): void {
  const backend = engine().backend as unknown as RawBackend;
  const x = tensor(new Float32Array(24).fill(1), [4, 6]);
  const mask = tensor(new Uint8Array(24).fill(1), [4, 6], 'bool');
  const idsBefore = backend.numDataIds();
  for (const [nth, kernelName, inputs] of [
    [0, row.kernelName, { logits: x, mask }],
    [1, row.kernelName, { logits: x, mask }],
    [0, row.gradKernelName, { dy: x, mask, y: x }],
    [1, row.gradKernelName, { dy: x, mask, y: x }],
  ] as const) {
    const restore = failNthAllocation(nth);
    try {
      expect(() => engine().runKernel(kernelName, inputs, { axis: 1 })).toThrow(/out of memory/);
    } finally {
      restore();
    }
    expect(backend.numDataIds(), `${kernelName}, allocation ${nth}: nothing kept`).toBe(idsBefore);
  }
  dispose([x, mask]);
}

export function defineSoftmaxHeapChecks(t: TestApi): void {
  for (const row of MASKED_SOFTMAXES) {
    t.describe(`${row.op}: wasm heap`, () => {
      t.it('outputs overwrite stale memory (masked and empty rows exact)', () =>
        checkOverwritesStaleMemory(row),
      );
      t.it('repeated calls leave tensors, data ids and the heap size unchanged', () =>
        checkHeapStable(row),
      );
      t.it('out of memory: a clear error, nothing kept', () => checkOutOfMemory(row));
    });
  }
}
