/**
 * Heap checks of the embedding bag's kernels, shared by the Node and browser test files: run them
 * after `setBackend('wasm')` with this package imported. Expected values come from core's float64
 * references (referenceEmbeddingBag, referenceEmbeddingBagGrad) through compareWithReference, or
 * are worked out by hand where a comment says so.
 */
import {
  EMBEDDING_BAG,
  type EmbeddingBagOptions,
  embeddingBag,
  referenceEmbeddingBag,
  referenceEmbeddingBagGrad,
} from '@masked-ops/core';
import {
  type BagCase,
  bagCases,
  bagReferenceInput,
  checkBagCase,
  compareWithReference,
} from '@masked-ops/core/testing';
import { dispose, engine, grads, memory, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { wasmHeapMemory } from '../../src/index.js';
import { failNthAllocation, poisonAllocations, type RawBackend } from './fail_allocation.js';
import { fillHeap } from './heap_checks.js';

/**
 * Core's cases that reach every loop of the kernels: each mode by hand, long bags (float64
 * partials), perSampleWeights, bags ending before the ids, a vocabulary of 100,000, and random
 * dims of 1 to 9 (single lanes and 4-lane blocks).
 */
export function pathBagCases(): BagCase[] {
  return bagCases().filter((c) =>
    /hand example|long bags|perSampleWeights|includeLastOffset|100,000|random #(0|1|2|5|9):/.test(
      c.name,
    ),
  );
}

/** `embeddingBag` and both its gradients on the case's tensors; returns every tensor it made. */
function runBag(c: BagCase): Tensor[] {
  const weight = tensor(c.weight, [c.numEmbeddings, c.dim]);
  const ids = tensor(c.ids, c.idsShape, 'int32');
  const made: Tensor[] = [weight, ids];
  const options: EmbeddingBagOptions = { mode: c.mode };
  if (c.paddingId !== undefined) options.paddingId = c.paddingId;
  if (c.offsets) {
    const offsets = tensor(c.offsets, [c.offsets.length], 'int32');
    made.push(offsets);
    options.offsets = offsets;
  }
  if (c.includeLastOffset !== undefined) options.includeLastOffset = c.includeLastOffset;
  const y = embeddingBag(weight, ids, options);
  const dy = tensor(c.dy, y.shape);
  made.push(y, dy);
  if (c.perSampleWeights) {
    const psw = tensor(c.perSampleWeights, c.idsShape);
    made.push(psw);
    made.push(
      ...grads((w: Tensor, p: Tensor) => embeddingBag(w, ids, { ...options, perSampleWeights: p }))(
        [weight, psw],
        dy,
      ),
    );
  } else {
    made.push(...grads((w: Tensor) => embeddingBag(w, ids, options))([weight], dy));
  }
  return made;
}

/**
 * 1,000 calls (forward and gradients, every path) leave the tensor count, the backend's data ids
 * and the heap size as they were (scratch is freed every time), and the results stay right.
 */
export async function checkBagHeapStable(): Promise<void> {
  const heap = wasmHeapMemory();
  const cases = pathBagCases();
  const round = () => {
    for (const c of cases) dispose(runBag(c));
  };
  round(); // warm up: modules linked, allocator pools settled
  const tensors = memory().numTensors;
  const ids = engine().backend.numDataIds();
  const bytes = heap.buffer.byteLength;
  for (let i = 0; i < Math.ceil(1000 / cases.length); i++) round();
  expect(memory().numTensors).toBe(tensors);
  expect(engine().backend.numDataIds()).toBe(ids);
  expect(heap.buffer.byteLength).toBe(bytes);
  for (const c of cases) await checkBagCase(c);
}

/**
 * Tensors made before the heap grows are used after it grew (their offsets stay valid, the
 * ArrayBuffer, through which the kernels read ids and offsets, is replaced); and the gradient's
 * own allocation of d weight growing the heap (after the ids were read) gives the right result.
 */
export async function checkBagHeapGrowth(): Promise<void> {
  const heap = wasmHeapMemory();
  const cases = pathBagCases();
  for (const c of cases) await checkBagCase(c); // modules linked before the growth
  const c = cases.find((k) => /100,000/.test(k.name))!;
  const weight = tensor(c.weight, [c.numEmbeddings, c.dim]);
  const ids = tensor(c.ids, [c.ids.length], 'int32');
  const offsets = tensor(bagReferenceInput(c).offsets, [c.idsShape[0]! + 1], 'int32');
  const dy = tensor(c.dy, [c.idsShape[0]!, c.dim]);
  const attrs = { mode: c.mode, paddingId: bagReferenceInput(c).paddingId };
  const dWeightBytes = 4 * c.numEmbeddings * c.dim;

  let release = fillHeap(heap, dWeightBytes);
  let before = heap.buffer.byteLength;
  const gradInputs: Record<string, Tensor> = { dy, ids, offsets };
  let y: Tensor | undefined;
  if (c.mode === 'max') {
    y = engine().runKernel(EMBEDDING_BAG.kernelName, { weight, ids, offsets }, attrs) as Tensor;
    Object.assign(gradInputs, { weight, y });
  }
  const dWeight = engine().runKernel(EMBEDDING_BAG.gradKernelName, gradInputs, {
    ...attrs,
    numEmbeddings: c.numEmbeddings,
  }) as Tensor;
  expect(heap.buffer.byteLength, 'the gradient kernel grew the heap').toBeGreaterThan(before);
  release();
  const ref = referenceEmbeddingBagGrad(bagReferenceInput(c), c.dy);
  compareWithReference('d weight after growth inside the call', await dWeight.data(), {
    values: ref.dWeight,
    counts: ref.dWeightCounts,
    scales: ref.dWeightScales,
  });

  // Growth between calls: the tensors above were made before it.
  release = fillHeap(heap, 4 << 20);
  before = heap.buffer.byteLength;
  const big = tensor(new Float32Array(1 << 20));
  expect(heap.buffer.byteLength).toBeGreaterThan(before);
  release();
  const out = engine().runKernel(EMBEDDING_BAG.kernelName, { weight, ids, offsets }, attrs);
  compareWithReference(
    'forward after growth between calls',
    await (out as Tensor).data(),
    referenceEmbeddingBag(bagReferenceInput(c)),
  );
  for (const k of cases) await checkBagCase(k);
  dispose([weight, ids, offsets, dy, dWeight, big, out as Tensor, ...(y ? [y] : [])]);
}

/**
 * tfjs does not zero an output's memory: with every new block poisoned (NaN), each kernel's output
 * must be right everywhere, with exact zeros for an empty bag (forward), rows no real id touches
 * (d weight), and padding and ids after the last bag (d perSampleWeights).
 */
export async function checkBagOutputsOverwriteStaleMemory(): Promise<void> {
  const restore = poisonAllocations(wasmHeapMemory);
  try {
    await staleChecks();
  } finally {
    restore();
  }
}

async function staleChecks(): Promise<void> {
  // Rows r_k = [k, 10k, -k, 2k, 3k] (5 lanes: a 4-lane block and a single lane); bags [1, 2, pad],
  // [3, 3], [pad], ids 3 and 4 after the last bag (offsets end at 6 of 8 ids).
  const numEmbeddings = 6;
  const dim = 5;
  const wv = Float32Array.from({ length: numEmbeddings * dim }, (_, i) => {
    const k = Math.floor(i / dim);
    return [k, 10 * k, -k, 2 * k, 3 * k][i % dim]!;
  });
  const weight = tensor(wv, [numEmbeddings, dim]);
  const idsv = Int32Array.from([1, 2, 0, 3, 3, 0, 3, 4]);
  const offv = [0, 3, 5, 6];
  const ids = tensor(idsv, [8], 'int32');
  const offsets = tensor(offv, [4], 'int32');
  const dyv = Float32Array.from({ length: 3 * dim }, (_, i) => (i % 4) - 1.5);
  const dy = tensor(dyv, [3, dim]);
  const psw = tensor([0.5, -2, 3, 1, 4, 7, 9, 9], [8]);
  for (const mode of ['sum', 'mean', 'max'] as const) {
    const input = { weight: wv, numEmbeddings, dim, ids: idsv, offsets: offv, mode, paddingId: 0 };
    const attrs = { mode, paddingId: 0 };
    const y = engine().runKernel(EMBEDDING_BAG.kernelName, { weight, ids, offsets }, attrs);
    compareWithReference(
      `${mode} forward`,
      await (y as Tensor).data(),
      referenceEmbeddingBag(input),
    );

    const gradInputs: Record<string, Tensor> = { dy, ids, offsets };
    if (mode === 'max') Object.assign(gradInputs, { weight, y });
    const dw = engine().runKernel(EMBEDDING_BAG.gradKernelName, gradInputs, {
      ...attrs,
      numEmbeddings,
    }) as Tensor;
    const ref = referenceEmbeddingBagGrad(input, dyv);
    compareWithReference(`${mode} d weight`, await dw.data(), {
      values: ref.dWeight,
      counts: ref.dWeightCounts,
      scales: ref.dWeightScales,
    });
    dispose([y as Tensor, dw]);
  }
  const ds = engine().runKernel(
    EMBEDDING_BAG.sampleWeightsGradKernelName,
    { dy, weight, ids, offsets },
    { mode: 'sum', paddingId: 0 },
  ) as Tensor;
  const input = {
    weight: wv,
    numEmbeddings,
    dim,
    ids: idsv,
    offsets: offv,
    mode: 'sum' as const,
    paddingId: 0,
    perSampleWeights: await psw.data(),
  };
  const want = referenceEmbeddingBagGrad(input, dyv).dPerSampleWeights!;
  const got = await ds.data();
  compareWithReference('d perSampleWeights', got, { values: want });
  // Padding (positions 2 and 5) and the ids after the last bag (6 and 7): exactly 0.
  expect([got[2], got[5], got[6], got[7]]).toEqual([0, 0, 0, 0]);
  dispose([weight, ids, offsets, dy, psw, ds]);
}

interface FailSite {
  kernel: string;
  what: string;
  nth: number;
  mode: 'sum' | 'mean' | 'max';
  /** Bags of 300 ids: the forward's float64 scratch. */
  long?: boolean;
}

const FAIL_SITES: FailSite[] = [
  { kernel: EMBEDDING_BAG.kernelName, what: 'output', nth: 0, mode: 'mean' },
  { kernel: EMBEDDING_BAG.kernelName, what: 'scratch', nth: 1, mode: 'sum', long: true },
  { kernel: EMBEDDING_BAG.gradKernelName, what: 'gradient', nth: 0, mode: 'max' },
  { kernel: EMBEDDING_BAG.gradKernelName, what: 'scratch', nth: 1, mode: 'mean' },
  {
    kernel: EMBEDDING_BAG.sampleWeightsGradKernelName,
    what: 'perSampleWeights gradient',
    nth: 0,
    mode: 'sum',
  },
];

/** The failures a call can meet, each checked to leave the heap as it was and usable. */
export function bagFailureCases(): { name: string; run: () => Promise<void> }[] {
  const cases = FAIL_SITES.map((site) => ({
    name: `${site.kernel} (${site.mode}): the ${site.what} (allocation ${site.nth}) at the heap limit`,
    run: () =>
      checkFailure(site, site.long ? 300 : 4, (call) => {
        const restore = failNthAllocation(site.nth);
        try {
          call();
        } finally {
          restore();
        }
      }),
  }));
  const kernels = Object.values(EMBEDDING_BAG);
  return [
    ...cases,
    ...kernels.map((kernel) => ({
      name: `${kernel}: an id out of range`,
      run: () => checkFailure({ kernel, what: '', nth: -1, mode: 'sum' }, 4, (call) => call(), 9),
    })),
    ...kernels.map((kernel) => ({
      name: `${kernel}: decreasing offsets`,
      run: () =>
        checkFailure({ kernel, what: '', nth: -1, mode: 'sum' }, 4, (call) => call(), 0, true),
    })),
  ];
}

/**
 * Runs `site.kernel` on bags of `bagLen` ids of a [7, 3] table through `attempt`, expects the
 * error (out of memory, or the id / offsets error), then checks that nothing leaked, the start of
 * the heap was not written, and the next call is right.
 */
async function checkFailure(
  site: FailSite,
  bagLen: number,
  attempt: (call: () => void) => void,
  badId = 0,
  badOffsets = false,
): Promise<void> {
  const backend = engine().backend as unknown as RawBackend;
  const numEmbeddings = 7;
  const dim = 3;
  const batch = 2;
  const wv = Float32Array.from({ length: numEmbeddings * dim }, (_, i) => (i % 5) - 2);
  const idsv = Int32Array.from({ length: batch * bagLen }, (_, i) => (i * 3) % numEmbeddings);
  if (badId) idsv[1] = badId;
  const offv = badOffsets ? [0, bagLen + 1, bagLen] : [0, bagLen, 2 * bagLen];
  const dyv = Float32Array.from({ length: batch * dim }, (_, i) => i - 2.5);
  const weight = tensor(wv, [numEmbeddings, dim]);
  const ids = tensor(idsv, [idsv.length], 'int32');
  const offsets = tensor(offv, [offv.length], 'int32');
  const dy = tensor(dyv, [batch, dim]);
  const attrs = { mode: site.mode, paddingId: 6 };
  const made: Tensor[] = [];
  const call = () => {
    if (site.kernel === EMBEDDING_BAG.kernelName) {
      made.push(engine().runKernel(site.kernel, { weight, ids, offsets }, attrs) as Tensor);
    } else if (site.kernel === EMBEDDING_BAG.gradKernelName) {
      const inputs: Record<string, Tensor> = { dy, ids, offsets };
      if (site.mode === 'max') Object.assign(inputs, { weight, y: dy });
      made.push(engine().runKernel(site.kernel, inputs, { ...attrs, numEmbeddings }) as Tensor);
    } else {
      const inputs = { dy, weight, ids, offsets };
      made.push(engine().runKernel(site.kernel, inputs, attrs) as Tensor);
    }
  };
  const heap = wasmHeapMemory();
  const low = new Uint8Array(heap.buffer, 0, 4096).slice();
  const tensors = memory().numTensors;
  const dataIds = backend.numDataIds();
  const bytes = heap.buffer.byteLength;
  let message = '';
  try {
    attempt(call);
  } catch (err) {
    message = (err as Error).message;
  }
  if (badId) {
    expect(message).toMatch(
      /^embeddingBag: ids\[1\] = 9 is outside \[0, 7\) \(weight\.shape \[7,3\]\)/,
    );
  } else if (badOffsets) {
    expect(message).toMatch(
      /^embeddingBag: offsets must start at 0.*offsets\[2\] = 4 < offsets\[1\] = 5$/,
    );
  } else {
    const op = site.kernel === EMBEDDING_BAG.kernelName ? 'embeddingBag' : 'embeddingBag gradient';
    expect(message).toMatch(
      new RegExp(
        `^${op}: out of memory on the wasm backend: could not allocate the \\[[\\d,]+\\] ` +
          `float32 ${site.what} \\(\\d+ bytes\\); the wasm heap is at most 4 GiB$`,
      ),
    );
  }
  expect(made).toEqual([]);
  expect(memory().numTensors).toBe(tensors);
  expect(backend.numDataIds()).toBe(dataIds);
  expect(heap.buffer.byteLength).toBe(bytes);
  expect(new Uint8Array(heap.buffer, 0, 4096)).toEqual(low);

  // The backend keeps working: the same bags, valid now, through the op.
  idsv[1] = 0;
  const good = tensor(idsv, [batch, bagLen], 'int32');
  const y = embeddingBag(weight, good, { mode: site.mode, paddingId: 6 });
  const input = {
    weight: wv,
    numEmbeddings,
    dim,
    ids: idsv,
    offsets: [0, bagLen, 2 * bagLen],
    mode: site.mode,
    paddingId: 6,
  };
  compareWithReference('the next call', await y.data(), referenceEmbeddingBag(input));
  dispose([weight, ids, offsets, dy, good, y]);
}

/**
 * A bag of finite values whose float32 sum overflows: the mean is recomputed in float64 and stays
 * finite (3e38 by hand), the sum is +Inf; for short bags (sums in float32 registers) and long
 * ones (float64 partials), and dims covering every block width (16, 4, single lanes).
 */
export async function checkBagNearFloat32Max(): Promise<void> {
  for (const dim of [1, 3, 4, 16, 21]) {
    for (const bagLen of [2, 600]) {
      const weight = tensor(new Float32Array(2 * dim).fill(3e38), [2, dim]);
      const ids = tensor(new Int32Array(bagLen).fill(1), [1, bagLen], 'int32');
      const mean = embeddingBag(weight, ids, { mode: 'mean' });
      const sum = embeddingBag(weight, ids, { mode: 'sum' });
      for (const v of await mean.data()) expect(v).toBe(Math.fround(3e38));
      for (const v of await sum.data()) expect(v).toBe(Number.POSITIVE_INFINITY);
      dispose([weight, ids, mean, sum]);
    }
  }
}
