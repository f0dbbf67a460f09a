/**
 * Heap checks shared by the Node and browser test files: run them after `setBackend('wasm')` with
 * this package imported. Expected values come from @masked-ops/core's float64 reference, never from
 * the kernels.
 */
import {
  MaskedMeanGrad,
  maskedMean,
  referenceMaskedMean,
  referenceMaskedMeanGrad,
} from '@masked-ops/core';
import {
  allowedError,
  mismatch,
  randomFloats,
  randomMask,
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

/** One layout per kernel path: blocks (SIMD rows), blocks with inner == 1, tables, mid > 1. */
export const LAYOUTS: Layout[] = [
  { name: 'blocks [8,50,12] axis 1', xShape: [8, 50, 12], maskShape: [8, 50], axis: [1] },
  { name: 'inner == 1 [5,301] axis 1', xShape: [5, 301], maskShape: [5, 301], axis: [1] },
  { name: 'tables [6,5,4,3] axis [0,2]', xShape: [6, 5, 4, 3], maskShape: [6, 5, 4], axis: [0, 2] },
  { name: 'mid > 1 [4,7,3,5] axis 1', xShape: [4, 7, 3, 5], maskShape: [4, 7, 3], axis: [1] },
];

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

export interface Inputs {
  layout: Layout;
  xv: Float32Array;
  mv: Uint8Array;
  dyv: Float32Array;
}

export function makeInputs(layout: Layout, seed: number): Inputs {
  const rand = seededRandom(seed);
  const xv = randomFloats(rand, size(layout.xShape));
  const mv = randomMask(rand, size(layout.maskShape), 0.5);
  const outSize = size(layout.xShape.filter((_, i) => !layout.axis.includes(i)));
  return { layout, xv, mv, dyv: randomFloats(rand, outSize, -2, 2) };
}

/** Throws unless `got` matches the float64 reference within the suite's float32 bound. */
export function expectForward(inputs: Inputs, got: ArrayLike<number>): void {
  const { layout, xv, mv } = inputs;
  const ref = referenceMaskedMean(xv, layout.xShape, mv, layout.maskShape, layout.axis, false);
  expect(got.length).toBe(ref.values.length);
  const problems: string[] = [];
  for (let i = 0; i < ref.values.length; i++) {
    const count = ref.counts[i]!;
    const p =
      count === 0
        ? got[i] === 0
          ? null
          : `expected exactly 0, got ${got[i]}`
        : mismatch(got[i]!, ref.values[i]!, allowedError(ref.maxAbs[i]!, count, 'float32'));
    if (p) problems.push(`[${i}] ${p}`);
  }
  expect(problems.slice(0, 5), `${layout.name}: forward`).toEqual([]);
}

export function expectGradient(inputs: Inputs, got: ArrayLike<number>): void {
  const { layout, mv, dyv } = inputs;
  const ref = referenceMaskedMeanGrad(dyv, layout.xShape, mv, layout.maskShape, layout.axis);
  expect(got.length).toBe(ref.length);
  const problems: string[] = [];
  for (let i = 0; i < ref.length; i++) {
    const p =
      ref[i] === 0
        ? got[i] === 0
          ? null
          : `expected exactly 0, got ${got[i]}`
        : mismatch(got[i]!, ref[i]!, allowedError(Math.abs(ref[i]!), 1, 'float32'));
    if (p) problems.push(`[${i}] ${p}`);
  }
  expect(problems.slice(0, 5), `${layout.name}: gradient`).toEqual([]);
}

/** Forward and gradient of `inputs` on tensors made now; checks both and disposes everything. */
export async function runAndCheck(inputs: Inputs): Promise<void> {
  const { layout } = inputs;
  const x = tensor(inputs.xv, layout.xShape);
  const mask = tensor(inputs.mv, layout.maskShape, 'bool');
  const dy = tensor(
    inputs.dyv,
    layout.xShape.filter((_, i) => !layout.axis.includes(i)),
  );
  const y = maskedMean(x, mask, layout.axis);
  const dx = grad((v: Tensor) => maskedMean(v, mask, layout.axis))(x, dy);
  expectForward(inputs, await y.data());
  expectGradient(inputs, await dx.data());
  dispose([x, mask, dy, y, dx]);
}

/**
 * Tensors made before the heap grows are used after it grew (their offsets stay valid, the
 * ArrayBuffer is replaced), and new tensors after growth work too.
 */
export async function checkHeapGrowthBetweenCalls(): Promise<void> {
  const heap = wasmHeapMemory();
  const all = LAYOUTS.map((l, i) => makeInputs(l, 100 + i));
  for (const inputs of all) await runAndCheck(inputs); // kernel module linked before the growth
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
    const y = maskedMean(x, mask, inputs.layout.axis);
    expectForward(inputs, await y.data());
    dispose([x, mask, y]);
  }
  for (const inputs of all) await runAndCheck(inputs);
  big.dispose();
}

/**
 * Growth caused by the kernel's own allocations (the output, then the offset tables): calls with
 * doubling sizes until one of them grows the heap, checking every result.
 */
export async function checkHeapGrowthInsideCalls(): Promise<void> {
  const heap = wasmHeapMemory();
  let grewInside = 0;
  for (let n = 1 << 16; n <= 1 << 23 && grewInside < 2; n *= 2) {
    // Non-contiguous axes: out [n] and a table of n + 4 int32 are allocated by the kernel.
    const layout: Layout = {
      name: `tables [2,${n},2] axis [0,2]`,
      xShape: [2, n, 2],
      maskShape: [2, n, 2],
      axis: [0, 2],
    };
    const inputs = makeInputs(layout, n);
    const x = tensor(inputs.xv, layout.xShape);
    const mask = tensor(inputs.mv, layout.maskShape, 'bool');
    const before = heap.buffer.byteLength;
    const y = maskedMean(x, mask, layout.axis);
    if (heap.buffer.byteLength > before) grewInside++;
    expectForward(inputs, await y.data());
    dispose([x, mask, y]);
  }
  expect(grewInside, 'calls whose own allocations grew the heap').toBeGreaterThan(0);
}

/**
 * 1,000 calls of every path leave the tensor count, the backend's data ids and the heap size as
 * they were (the offset tables are freed every time).
 */
export async function checkNoLeaksOver1000Calls(): Promise<void> {
  const heap = wasmHeapMemory();
  const made = LAYOUTS.map((l, i) => {
    const inputs = makeInputs(l, 200 + i);
    return {
      inputs,
      x: tensor(inputs.xv, l.xShape),
      mask: tensor(inputs.mv, l.maskShape, 'bool'),
      dy: tensor(
        inputs.dyv,
        l.xShape.filter((_, j) => !l.axis.includes(j)),
      ),
    };
  });
  const round = () => {
    for (const { inputs, x, mask, dy } of made) {
      const y = maskedMean(x, mask, inputs.layout.axis);
      const dx = grad((v: Tensor) => maskedMean(v, mask, inputs.layout.axis))(x, dy);
      dispose([y, dx]);
    }
  };
  round(); // warm up: module linked, allocator pools settled
  const tensorsBefore = memory().numTensors;
  const idsBefore = engine().backend.numDataIds();
  const bytesBefore = heap.buffer.byteLength;
  for (let i = 0; i < 1000; i++) round();
  expect(memory().numTensors).toBe(tensorsBefore);
  expect(engine().backend.numDataIds()).toBe(idsBefore);
  expect(heap.buffer.byteLength).toBe(bytesBefore);
  // And the results are still right.
  for (const { inputs, x, mask } of made) {
    const y = maskedMean(x, mask, inputs.layout.axis);
    expectForward(inputs, await y.data());
    y.dispose();
  }
  dispose(made.flatMap(({ x, mask, dy }) => [x, mask, dy]));
}

/**
 * tfjs does not zero an output's memory: fill a block with garbage, free it, and check that the
 * kernel's output, which reuses the block, holds exact zeros for all-masked rows (forward) and
 * masked positions (gradient).
 */
export async function checkOutputsOverwriteStaleMemory(): Promise<void> {
  const backend = engine().backend as unknown as {
    dataIdMap: { get(id: object): { memoryOffset: number } };
  };
  const offset = (t: Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;

  // Forward: x [6, 10, 8] with rows 0, 2 and 5 all masked; output [6, 8].
  const rand = seededRandom(5);
  const xv = randomFloats(rand, 6 * 10 * 8);
  const mv = randomMask(rand, 60, 0.5);
  for (const row of [0, 2, 5]) mv.fill(0, row * 10, row * 10 + 10);
  const x = tensor(xv, [6, 10, 8]);
  const mask = tensor(mv, [6, 10], 'bool');
  const garbage = tensor(new Float32Array(48).fill(777), [6, 8]);
  const garbageAt = offset(garbage);
  garbage.dispose();
  const y = maskedMean(x, mask, 1);
  expect(offset(y), 'the output reuses the freed block').toBe(garbageAt);
  const inputs: Inputs = {
    layout: { name: 'stale forward', xShape: [6, 10, 8], maskShape: [6, 10], axis: [1] },
    xv,
    mv,
    dyv: new Float32Array(0),
  };
  expectForward(inputs, await y.data());

  // Gradient: dx [6, 10, 8], zero at every masked position.
  const dyv = randomFloats(rand, 48, -2, 2);
  const dy = tensor(dyv, [6, 1, 8]);
  const garbageDx = tensor(new Float32Array(480).fill(-555), [6, 10, 8]);
  const garbageDxAt = offset(garbageDx);
  garbageDx.dispose();
  const dx = engine().runKernel(
    MaskedMeanGrad,
    { dy, mask },
    { axis: [1], xShape: [6, 10, 8] },
  ) as Tensor;
  expect(offset(dx), 'dx reuses the freed block').toBe(garbageDxAt);
  expectGradient({ ...inputs, dyv }, await dx.data());
  dispose([x, mask, y, dy, dx]);
}
