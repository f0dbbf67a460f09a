/**
 * Heap checks shared by the Node and browser test files, for one op of the table: run them after
 * `setBackend('wasm')` with this package imported. Expected values come from @masked-ops/core's
 * float64 references through its one comparison (compareWithReference), never from the kernels.
 */
import {
  type MaskedReduction,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
} from '@masked-ops/core';
import {
  compareWithReference,
  OPS,
  randomFloats,
  randomMask,
  seededRandom,
} from '@masked-ops/core/testing';
import {
  dispose,
  engine,
  grad,
  memory,
  reshape,
  type Tensor,
  tensor,
  zeros,
} from '@tensorflow/tfjs-core';
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
  dyv: Float32Array;
}

export function makeInputs(layout: Layout, seed: number): Inputs {
  const rand = seededRandom(seed);
  // Integers in [-3, 3]: ties for max/min, exact sums for sum/mean.
  const xv = Float32Array.from(randomFloats(rand, size(layout.xShape)), (v) => Math.round(v / 3));
  const mv = randomMask(rand, size(layout.maskShape), 0.5);
  return { layout, xv, mv, dyv: randomFloats(rand, size(outShapeOf(layout)), -2, 2) };
}

export function expectForward(spec: MaskedReduction, inputs: Inputs, got: ArrayLike<number>) {
  const { layout, xv, mv } = inputs;
  const ref = referenceMaskedReduce(
    spec.reducer,
    xv,
    layout.xShape,
    mv,
    layout.maskShape,
    layout.axis,
    false,
  );
  compareWithReference(`${spec.op} ${layout.name}: forward`, got, ref);
}

export function expectGradient(spec: MaskedReduction, inputs: Inputs, got: ArrayLike<number>) {
  const { layout, xv, mv, dyv } = inputs;
  const ref = referenceMaskedReduceGrad(
    spec.reducer,
    xv,
    dyv,
    layout.xShape,
    mv,
    layout.maskShape,
    layout.axis,
  );
  compareWithReference(`${spec.op} ${layout.name}: gradient`, got, { values: ref });
}

/** Forward and gradient of `inputs` on tensors made now; checks both and disposes everything. */
export async function runAndCheck(spec: MaskedReduction, inputs: Inputs): Promise<void> {
  const op = OPS[spec.reducer];
  const { layout } = inputs;
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const dy = tensor(inputs.dyv, outShapeOf(layout));
  const y = op(x, mask, layout.axis);
  const dx = grad((v: Tensor) => op(v, mask, layout.axis))(x, dy);
  expectForward(spec, inputs, await y.data());
  expectGradient(spec, inputs, await dx.data());
  dispose([x, mask, dy, y, dx]);
}

/**
 * Tensors made before the heap grows are used after it grew (their offsets stay valid, the
 * ArrayBuffer is replaced), and new tensors after growth work too.
 */
export async function checkHeapGrowthBetweenCalls(spec: MaskedReduction): Promise<void> {
  const op = OPS[spec.reducer];
  const heap = wasmHeapMemory();
  const all = LAYOUTS.map((l, i) => makeInputs(l, 100 + i));
  for (const inputs of all) await runAndCheck(spec, inputs); // modules linked before the growth
  const made = all.map((inputs) => ({
    inputs,
    x: tensor(inputs.xv, inputs.layout.xShape),
    mask: tensor(inputs.mv, inputs.layout.maskShape, 'bool'),
  }));
  const bufferBefore = heap.buffer;
  const bytesBefore = bufferBefore.byteLength;
  // Larger than the whole current heap, so the heap must grow to hold it.
  const big = zeros([Math.ceil(bytesBefore / 4) + 1024]);
  expect(heap.buffer.byteLength).toBeGreaterThan(bytesBefore);
  expect(heap.buffer).not.toBe(bufferBefore);
  for (const { inputs, x, mask } of made) {
    const y = op(x, mask, inputs.layout.axis);
    expectForward(spec, inputs, await y.data());
    dispose([x, mask, y]);
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
 * Leaves at most 512 KB free at the end of the heap (and no free block of 256 KB elsewhere), so
 * that the next allocation of 1 MB or more must grow the heap. Fillers of 256 KB take every free
 * block of that size, then the space at the end, until one ends within 512 KB of the heap's end
 * (a filler that does not fit grows the heap and the filling goes on). They are allocated without
 * being written (makeOutput), so this is cheap. Returns the function that frees them.
 */
function fillHeap(heap: WebAssembly.Memory): () => void {
  const backend = engine().backend as unknown as RawBackend;
  const fillers: object[] = [];
  const chunk = 256 * 1024;
  for (;;) {
    const info = backend.makeOutput([chunk / 4], 'float32');
    fillers.push(info.dataId);
    const at = backend.dataIdMap.get(info.dataId).memoryOffset;
    if (at + chunk + 2 * chunk >= heap.buffer.byteLength) break;
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
  const op = OPS[spec.reducer];
  const heap = wasmHeapMemory();
  const n = 1 << 17;
  const layout: Layout = {
    name: `runs [2,${n},2] axis [0,2]`,
    xShape: [2, n, 2],
    maskShape: [2, n, 2],
    axis: [0, 2],
  };
  const inputs = makeInputs(layout, 7);
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const dy = tensor(inputs.dyv, [1, n, 1]);
  const y = op(x, mask, layout.axis, true);
  const gradInputs: Record<string, Tensor> = { dy, mask };
  if (spec.gradInputs.length > 0) Object.assign(gradInputs, { x, y });

  let release = fillHeap(heap);
  let before = heap.buffer.byteLength;
  const dx = engine().runKernel(spec.gradKernelName, gradInputs, {
    axis: layout.axis,
    xShape: layout.xShape,
  }) as Tensor;
  expect(heap.buffer.byteLength, 'the gradient kernel grew the heap').toBeGreaterThan(before);
  release();
  expectGradient(spec, inputs, await dx.data());

  release = fillHeap(heap);
  before = heap.buffer.byteLength;
  const same = op(x, mask, []);
  expect(heap.buffer.byteLength, 'the forward kernel grew the heap').toBeGreaterThan(before);
  release();
  const ref = referenceMaskedReduce(
    spec.reducer,
    inputs.xv,
    layout.xShape,
    inputs.mv,
    layout.maskShape,
    [],
    false,
  );
  compareWithReference(`${spec.op} ${layout.name} with no reduced axis`, await same.data(), ref);
  dispose([x, mask, dy, y, dx, same]);
}

/**
 * 1,000 forward and 1,000 gradient calls spread over every path leave the tensor count, the
 * backend's data ids and the heap size as they were (scratch is freed every time).
 */
export async function checkNoLeaksOver1000Calls(spec: MaskedReduction): Promise<void> {
  const op = OPS[spec.reducer];
  const heap = wasmHeapMemory();
  const made = LAYOUTS.map((l, i) => {
    const inputs = makeInputs(l, 200 + i);
    return {
      inputs,
      x: tensor(inputs.xv, l.xShape),
      mask: tensor(inputs.mv, l.maskShape, 'bool'),
      dy: tensor(inputs.dyv, outShapeOf(l)),
    };
  });
  const round = () => {
    for (const { inputs, x, mask, dy } of made) {
      const y = op(x, mask, inputs.layout.axis);
      const dx = grad((v: Tensor) => op(v, mask, inputs.layout.axis))(x, dy);
      dispose([y, dx]);
    }
  };
  round(); // warm up: modules linked, allocator pools settled
  const tensorsBefore = memory().numTensors;
  const idsBefore = engine().backend.numDataIds();
  const bytesBefore = heap.buffer.byteLength;
  for (let i = 0; i < 1000 / LAYOUTS.length; i++) round();
  expect(memory().numTensors).toBe(tensorsBefore);
  expect(engine().backend.numDataIds()).toBe(idsBefore);
  expect(heap.buffer.byteLength).toBe(bytesBefore);
  // And the results are still right.
  for (const { inputs, x, mask } of made) {
    const y = op(x, mask, inputs.layout.axis);
    expectForward(spec, inputs, await y.data());
    y.dispose();
  }
  dispose(made.flatMap(({ x, mask, dy }) => [x, mask, dy]));
}

/**
 * tfjs does not zero an output's memory: fill a block with garbage, free it, and check that the
 * kernel's output, which reuses the block, is right everywhere, including exact zeros for
 * all-masked rows (forward) and masked or untied positions (gradient).
 */
export async function checkOutputsOverwriteStaleMemory(spec: MaskedReduction): Promise<void> {
  const op = OPS[spec.reducer];
  const backend = engine().backend as unknown as {
    dataIdMap: { get(id: object): { memoryOffset: number } };
  };
  const offset = (t: Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;

  // Forward: x [6, 10, 8] with rows 0, 2 and 5 all masked; output [6, 8].
  const layout: Layout = { name: 'stale', xShape: [6, 10, 8], maskShape: [6, 10], axis: [1] };
  const inputs = makeInputs(layout, 5);
  for (const row of [0, 2, 5]) inputs.mv.fill(0, row * 10, row * 10 + 10);
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const garbage = tensor(new Float32Array(48).fill(777), [6, 8]);
  const garbageAt = offset(garbage);
  garbage.dispose();
  const y = op(x, mask, 1);
  expect(offset(y), 'the output reuses the freed block').toBe(garbageAt);
  expectForward(spec, inputs, await y.data());

  // Gradient: dx [6, 10, 8] through the gradient kernel itself, so dx is its output.
  const dy = tensor(inputs.dyv, [6, 1, 8]);
  const yKeep = reshape(y, [6, 1, 8]);
  const garbageDx = tensor(new Float32Array(480).fill(-555), [6, 10, 8]);
  const garbageDxAt = offset(garbageDx);
  garbageDx.dispose();
  const gradInputs: Record<string, Tensor> = { dy, mask };
  if (spec.gradInputs.includes('x')) gradInputs['x'] = x;
  if (spec.gradInputs.includes('y')) gradInputs['y'] = yKeep;
  const dx = engine().runKernel(spec.gradKernelName, gradInputs, {
    axis: [1],
    xShape: [6, 10, 8],
  }) as Tensor;
  expect(offset(dx), 'dx reuses the freed block').toBe(garbageDxAt);
  expectGradient(spec, inputs, await dx.data());
  dispose([x, mask, y, dy, yKeep, dx]);
}
