/**
 * Heap checks shared by the Node and browser test files, for one op of the table: run them after
 * `setBackend('wasm')` with this package imported. Expected values come from @masked-ops/core's
 * float64 references through its one comparison (compareWithReference), never from the kernels.
 * Every output of the op is checked (moments: mean and variance), and its gradient kernel gets a
 * cotangent for each (dy, dy1).
 */
import {
  type MaskedReduction,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
} from '@masked-ops/core';
import {
  compareWithReference,
  randomFloats,
  randomMask,
  runOp,
  seededRandom,
} from '@masked-ops/core/testing';
import { dispose, engine, grad, memory, type Tensor, tensor, zeros } from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { wasmHeapMemory } from '../../src/index.js';

export interface Layout {
  name: string;
  xShape: number[];
  maskShape: number[];
  axis: number[];
}

/** One layout per kernel path: blocks (SIMD rows), inner == 1 along time, runs, mid > 1. */
export const LAYOUTS: Layout[] = [
  { name: 'blocks [8,50,12] axis 1', xShape: [8, 50, 12], maskShape: [8, 50], axis: [1] },
  { name: 'inner == 1 [5,301] axis 1', xShape: [5, 301], maskShape: [5, 301], axis: [1] },
  { name: 'runs [6,5,4,3] axis [0,2]', xShape: [6, 5, 4, 3], maskShape: [6, 5, 4], axis: [0, 2] },
  { name: 'mid > 1 [4,7,3,5] axis 1', xShape: [4, 7, 3, 5], maskShape: [4, 7, 3], axis: [1] },
  {
    name: 'runs, 300-long slices [2,150,3,2,3] axis [1,3]',
    xShape: [2, 150, 3, 2, 3],
    maskShape: [2, 150, 3, 2],
    axis: [1, 3],
  },
];

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const outShapeOf = (l: Layout) => l.xShape.filter((_, i) => !l.axis.includes(i));

export interface Inputs {
  layout: Layout;
  xv: Float32Array;
  mv: Uint8Array;
  /** One cotangent per output of the op (dy, then dy1 for moments' variance). */
  dyvs: Float32Array[];
}

export function makeInputs(spec: MaskedReduction, layout: Layout, seed: number): Inputs {
  const rand = seededRandom(seed);
  // Integers in [-3, 3]: ties for max/min, exact sums for sum/mean.
  const xv = Float32Array.from(randomFloats(rand, size(layout.xShape)), (v) => Math.round(v / 3));
  const mv = randomMask(rand, size(layout.maskShape), 0.5);
  const dyvs = spec.outputs.map(() => randomFloats(rand, size(outShapeOf(layout)), -2, 2));
  return { layout, xv, mv, dyvs };
}

/** Output `k` of the op alone, as a function of x (for tf.grad); the other outputs are disposed. */
const outputOf =
  (spec: MaskedReduction, mask: Tensor, axis: number[], k: number) =>
  (v: Tensor): Tensor => {
    const outs = runOp(spec, v, mask, axis);
    dispose(outs.filter((_, i) => i !== k));
    return outs[k]!;
  };

/** Output `k` of `inputs` (no reduced axis when `axis` is given, for the growth check). */
export function expectForward(
  spec: MaskedReduction,
  inputs: Inputs,
  got: ArrayLike<number>,
  k = 0,
  axis = inputs.layout.axis,
) {
  const { layout, xv, mv } = inputs;
  const ref = referenceMaskedReduce(
    spec.reducer,
    xv,
    layout.xShape,
    mv,
    layout.maskShape,
    axis,
    false,
    k,
  );
  compareWithReference(`${spec.op}[${k}] ${layout.name}: forward`, got, ref);
}

/** Checks every output of one forward call. */
export async function expectOutputs(spec: MaskedReduction, inputs: Inputs, outs: Tensor[]) {
  expect(outs.length).toBe(spec.outputs.length);
  for (let k = 0; k < outs.length; k++) expectForward(spec, inputs, await outs[k]!.data(), k);
}

/**
 * The float64 dx for the cotangents of the given outputs (the others' are 0): the sum of each
 * output's reference gradient, as every gradient is linear in its cotangents.
 */
function referenceGradient(spec: MaskedReduction, inputs: Inputs, ks: number[]): Float64Array {
  const { layout, xv, mv, dyvs } = inputs;
  const total = new Float64Array(xv.length);
  for (const k of ks) {
    const ref = referenceMaskedReduceGrad(
      spec.reducer,
      xv,
      dyvs[k]!,
      layout.xShape,
      mv,
      layout.maskShape,
      layout.axis,
      k,
    );
    for (let i = 0; i < total.length; i++) total[i]! += ref[i]!;
  }
  return total;
}

/** dx for the cotangents of outputs `ks` (every output when the gradient kernel ran directly). */
export function expectGradient(
  spec: MaskedReduction,
  inputs: Inputs,
  got: ArrayLike<number>,
  ks: number[] = [0],
) {
  compareWithReference(`${spec.op}[${ks}] ${inputs.layout.name}: gradient`, got, {
    values: referenceGradient(spec, inputs, ks),
  });
}

/**
 * The gradient kernel's inputs for `inputs` (made now, disposed by the caller): dy and, for an op
 * with several outputs, dy1 (keepDims layout), the mask, and x and y (the first output, keepDims
 * layout) when the row reads them.
 */
export function gradKernelInputs(
  spec: MaskedReduction,
  inputs: Inputs,
  x: Tensor,
  mask: Tensor,
): { gradInputs: Record<string, Tensor>; made: Tensor[] } {
  const { layout } = inputs;
  const keepShape = layout.xShape.map((d, i) => (layout.axis.includes(i) ? 1 : d));
  const made: Tensor[] = [];
  const gradInputs: Record<string, Tensor> = { mask };
  inputs.dyvs.forEach((v, k) => {
    const d = tensor(v, keepShape);
    made.push(d);
    gradInputs[k === 0 ? 'dy' : `dy${k}`] = d;
  });
  if (spec.gradInputs.length > 0) {
    const outs = runOp(spec, x, mask, layout.axis, true);
    made.push(...outs);
    gradInputs['x'] = x;
    gradInputs['y'] = outs[0]!;
  }
  return { gradInputs, made };
}

/** Forward and gradient of `inputs` on tensors made now; checks both and disposes everything. */
export async function runAndCheck(spec: MaskedReduction, inputs: Inputs): Promise<void> {
  const { layout } = inputs;
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const outs = runOp(spec, x, mask, layout.axis);
  await expectOutputs(spec, inputs, outs);
  for (let k = 0; k < spec.outputs.length; k++) {
    const dy = tensor(inputs.dyvs[k]!, outShapeOf(layout));
    const dx = grad(outputOf(spec, mask, layout.axis, k))(x, dy);
    expectGradient(spec, inputs, await dx.data(), [k]);
    dispose([dy, dx]);
  }
  dispose([x, mask, ...outs]);
}

const BIG_BYTES = 4 << 20;

/**
 * Tensors made before the heap grows are used after it grew (their offsets stay valid, the
 * ArrayBuffer is replaced), and new tensors after growth work too.
 */
export async function checkHeapGrowthBetweenCalls(spec: MaskedReduction): Promise<void> {
  const heap = wasmHeapMemory();
  const all = LAYOUTS.map((l, i) => makeInputs(spec, l, 100 + i));
  for (const inputs of all) await runAndCheck(spec, inputs); // modules linked before the growth
  const made = all.map((inputs) => ({
    inputs,
    x: tensor(inputs.xv, inputs.layout.xShape),
    mask: tensor(inputs.mv, inputs.layout.maskShape, 'bool'),
  }));
  // With the heap full, a 4 MB tensor must grow it. (Not a tensor larger than the whole heap:
  // that doubles the heap once per op of the table, past its 4 GiB limit.)
  const release = fillHeap(heap, BIG_BYTES);
  const bufferBefore = heap.buffer;
  const bytesBefore = bufferBefore.byteLength;
  const big = zeros([BIG_BYTES / 4]);
  expect(heap.buffer.byteLength).toBeGreaterThan(bytesBefore);
  expect(heap.buffer).not.toBe(bufferBefore);
  release();
  for (const { inputs, x, mask } of made) {
    const outs = runOp(spec, x, mask, inputs.layout.axis);
    await expectOutputs(spec, inputs, outs);
    dispose([x, mask, ...outs]);
  }
  for (const inputs of all) await runAndCheck(spec, inputs);
  big.dispose();
}

interface RawBackend {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): { dataId: object };
  disposeData(id: object): void;
}

/**
 * Leaves at most 512 KB free at the end of the heap and no free block of `bytes` elsewhere, so
 * that the next allocation of `bytes` must grow the heap. Fillers of 256 KB take every free block
 * of that size, then the space at the end, until one ends within 512 KB of the heap's end (a
 * filler that does not fit grows the heap and the filling goes on). The allocator does not always
 * take a large free block before the end (after many tests have grown the heap to a GiB, one was
 * left at the start), so a probe of `bytes` then checks: while it fits without growth it stays as
 * a filler; once it grows the heap it is freed and the new end is filled again. Fillers are
 * allocated without being written (makeOutput), so this is cheap. Returns the function that frees
 * them.
 */
export function fillHeap(heap: WebAssembly.Memory, bytes: number): () => void {
  const backend = engine().backend as unknown as RawBackend;
  const fillers: object[] = [];
  const take = (size: number): number => {
    const info = backend.makeOutput([size / 4], 'float32');
    fillers.push(info.dataId);
    return backend.dataIdMap.get(info.dataId).memoryOffset;
  };
  const chunk = 256 * 1024;
  const fillToEnd = () => {
    while (take(chunk) + 3 * chunk < heap.buffer.byteLength);
  };
  fillToEnd();
  for (;;) {
    const size = heap.buffer.byteLength;
    take(bytes);
    if (heap.buffer.byteLength > size) {
      backend.disposeData(fillers.pop()!);
      fillToEnd();
      break;
    }
  }
  return () => {
    for (const id of fillers) backend.disposeData(id);
  };
}

/**
 * Growth caused by the kernels' own allocations: with the heap full (fillHeap), a gradient kernel
 * allocating dx (2 MB, as large as x) and a forward call with no reduced axis (an output as large
 * as x) each must grow the heap, and their results must be right.
 */
export async function checkHeapGrowthInsideCalls(spec: MaskedReduction): Promise<void> {
  const heap = wasmHeapMemory();
  const n = 1 << 17;
  const layout: Layout = {
    name: `runs [2,${n},2] axis [0,2]`,
    xShape: [2, n, 2],
    maskShape: [2, n, 2],
    axis: [0, 2],
  };
  const inputs = makeInputs(spec, layout, 7);
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const { gradInputs, made } = gradKernelInputs(spec, inputs, x, mask);

  let release = fillHeap(heap, 4 * inputs.xv.length);
  let before = heap.buffer.byteLength;
  const dx = engine().runKernel(spec.gradKernelName, gradInputs, {
    axis: layout.axis,
    xShape: layout.xShape,
  }) as Tensor;
  expect(heap.buffer.byteLength, 'the gradient kernel grew the heap').toBeGreaterThan(before);
  release();
  expectGradient(
    spec,
    inputs,
    await dx.data(),
    spec.outputs.map((_, k) => k),
  );

  release = fillHeap(heap, 4 * inputs.xv.length);
  before = heap.buffer.byteLength;
  const same = runOp(spec, x, mask, []);
  expect(heap.buffer.byteLength, 'the forward kernel grew the heap').toBeGreaterThan(before);
  release();
  for (let k = 0; k < same.length; k++) {
    expectForward(spec, inputs, await same[k]!.data(), k, []);
  }
  dispose([x, mask, dx, ...made, ...same]);
}

/**
 * 1,000 forward and 1,000 gradient calls spread over every path leave the tensor count, the
 * backend's data ids and the heap size as they were (scratch is freed every time).
 */
export async function checkNoLeaksOver1000Calls(spec: MaskedReduction): Promise<void> {
  const heap = wasmHeapMemory();
  const made = LAYOUTS.map((l, i) => {
    const inputs = makeInputs(spec, l, 200 + i);
    return {
      inputs,
      x: tensor(inputs.xv, l.xShape),
      mask: tensor(inputs.mv, l.maskShape, 'bool'),
      dy: tensor(inputs.dyvs[0]!, outShapeOf(l)),
    };
  });
  const round = (k: number) => {
    for (const { inputs, x, mask, dy } of made) {
      const outs = runOp(spec, x, mask, inputs.layout.axis);
      const dx = grad(outputOf(spec, mask, inputs.layout.axis, k))(x, dy);
      dispose([...outs, dx]);
    }
  };
  // Every output's gradient in turn (moments: the mean's, then the variance's).
  const rounds = Math.ceil(1000 / LAYOUTS.length);
  round(0); // warm up: modules linked, allocator pools settled
  const tensorsBefore = memory().numTensors;
  const idsBefore = engine().backend.numDataIds();
  const bytesBefore = heap.buffer.byteLength;
  for (let i = 0; i < rounds; i++) round(i % spec.outputs.length);
  expect(memory().numTensors).toBe(tensorsBefore);
  expect(engine().backend.numDataIds()).toBe(idsBefore);
  expect(heap.buffer.byteLength).toBe(bytesBefore);
  // And the results are still right.
  for (const { inputs, x, mask } of made) {
    const outs = runOp(spec, x, mask, inputs.layout.axis);
    await expectOutputs(spec, inputs, outs);
    dispose(outs);
  }
  dispose(made.flatMap(({ x, mask, dy }) => [x, mask, dy]));
}

/**
 * tfjs does not zero an output's memory: fill a block with garbage, free it, and check that the
 * kernel's output, which reuses the block, is right everywhere, including exact empty values for
 * all-masked rows (forward) and zeros at masked or untied positions (gradient).
 */
export async function checkOutputsOverwriteStaleMemory(spec: MaskedReduction): Promise<void> {
  const backend = engine().backend as unknown as {
    dataIdMap: { get(id: object): { memoryOffset: number } };
  };
  const offset = (t: Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;

  // Forward: x [6, 10, 8] with rows 0, 2 and 5 all masked; outputs [6, 8].
  const layout: Layout = { name: 'stale', xShape: [6, 10, 8], maskShape: [6, 10], axis: [1] };
  const inputs = makeInputs(spec, layout, 5);
  for (const row of [0, 2, 5]) inputs.mv.fill(0, row * 10, row * 10 + 10);
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  // One freed block of garbage per output, each the size of an output.
  const garbage = spec.outputs.map(() => tensor(new Float32Array(48).fill(777), [6, 8]));
  const garbageAt = garbage.map(offset).sort();
  dispose(garbage);
  const outs = runOp(spec, x, mask, [1]);
  expect(outs.map(offset).sort(), 'the outputs reuse the freed blocks').toEqual(garbageAt);
  await expectOutputs(spec, inputs, outs);

  // Gradient: dx [6, 10, 8] through the gradient kernel itself, so dx is its output.
  const { gradInputs, made } = gradKernelInputs(spec, inputs, x, mask);
  const garbageDx = tensor(new Float32Array(480).fill(-555), [6, 10, 8]);
  const garbageDxAt = offset(garbageDx);
  garbageDx.dispose();
  const dx = engine().runKernel(spec.gradKernelName, gradInputs, {
    axis: [1],
    xShape: [6, 10, 8],
  }) as Tensor;
  expect(offset(dx), 'dx reuses the freed block').toBe(garbageDxAt);
  expectGradient(
    spec,
    inputs,
    await dx.data(),
    spec.outputs.map((_, k) => k),
  );
  dispose([x, mask, dx, ...outs, ...made]);
}
