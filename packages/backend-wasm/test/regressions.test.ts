// Regression tests of defects fixed in the family release (one describe per defect).
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { referenceMaskedReduce } from '@masked-ops/core';
import { compareWithReference, OPS } from '@masked-ops/core/testing';
import {
  type DataId,
  type DataType,
  dispose,
  engine,
  fill,
  memory,
  ones,
  setBackend,
  type Tensor,
  type TensorInfo,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmHeapMemory } from '../src/index.js';
import { WASM_SPECS } from './support/ops.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

interface RawBackend {
  wasm: { _free(offset: number): void };
  dataIdMap: { get(id: DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  numDataIds(): number;
}

/**
 * Makes the `nth` (0-based) makeOutput call of the backend behave as tfjs-wasm does at its 4 GiB
 * heap limit: the output's entry has memoryOffset 0 (malloc failed). The real block is freed so
 * nothing leaks. Returns the restore function.
 */
function failNthAllocation(nth: number): () => void {
  const backend = engine().backend as unknown as RawBackend;
  const real = backend.makeOutput;
  let calls = 0;
  backend.makeOutput = function (this: RawBackend, shape: number[], dtype: DataType) {
    const info = real.call(this, shape, dtype);
    if (calls++ === nth) {
      const data = this.dataIdMap.get(info.dataId);
      this.wasm._free(data.memoryOffset);
      data.memoryOffset = 0;
    }
    return info;
  };
  return () => {
    backend.makeOutput = real;
  };
}

/** x [2,3,4] (or [2,3,300,4] for long slices), reduced over the given mask axes. */
interface Site {
  what: string;
  nth: number;
  xShape: number[];
  maskShape: number[];
  axis: number[];
  gradient: boolean;
  /** Only reducers that add partials into float64 allocate this scratch. */
  accumulates?: boolean;
}

const SITES: Site[] = [
  {
    what: 'output',
    nth: 0,
    xShape: [2, 3, 4],
    maskShape: [2, 3],
    axis: [1],
    gradient: false,
  },
  {
    what: 'scratch',
    nth: 1,
    xShape: [2, 3, 2, 4],
    maskShape: [2, 3, 2],
    axis: [0, 2],
    gradient: false,
  },
  {
    what: 'scratch',
    nth: 1,
    xShape: [2, 300, 4],
    maskShape: [2, 300],
    axis: [1],
    gradient: false,
    accumulates: true,
  },
  {
    what: 'gradient',
    nth: 0,
    xShape: [2, 3, 4],
    maskShape: [2, 3],
    axis: [1],
    gradient: true,
  },
  {
    what: 'scratch',
    nth: 1,
    xShape: [2, 3, 2, 4],
    maskShape: [2, 3, 2],
    axis: [0, 2],
    gradient: true,
  },
];

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

describe('an allocation at the heap limit (offset 0) throws, writes nothing, leaks nothing', () => {
  for (const spec of WASM_SPECS) {
    for (const site of SITES) {
      if (site.accumulates && !['sum', 'mean'].includes(spec.reducer)) continue;
      const kernel = site.gradient ? spec.gradKernelName : spec.kernelName;
      it(`${kernel}: the ${site.what} of x [${site.xShape}] axis [${site.axis}]`, async () => {
        const backend = engine().backend as unknown as RawBackend;
        const values = Float32Array.from({ length: size(site.xShape) }, (_, i) => (i % 7) - 3);
        const x = tensor(values, site.xShape);
        const maskValues = Uint8Array.from({ length: size(site.maskShape) }, (_, i) => i % 3);
        const mask = tensor(maskValues, site.maskShape, 'bool');
        // The gradient kernel's inputs are made before the failing allocator is installed.
        const keepShape = site.xShape.map((d, i) => (site.axis.includes(i) ? 1 : d));
        const y = OPS[spec.reducer](x, mask, site.axis, true);
        const dy = ones(keepShape);
        const gradInputs: Record<string, Tensor> = { dy, mask };
        if (spec.gradInputs.length > 0) Object.assign(gradInputs, { x, y });

        const heap = wasmHeapMemory();
        const low = new Uint8Array(heap.buffer, 0, 4096).slice();
        const tensors = memory().numTensors;
        const ids = backend.numDataIds();
        const bytes = heap.buffer.byteLength;
        const restore = failNthAllocation(site.nth);
        let message = '';
        try {
          if (site.gradient) {
            engine().runKernel(kernel, gradInputs, { axis: site.axis, xShape: site.xShape });
          } else {
            engine().runKernel(kernel, { x, mask }, { axis: site.axis, keepDims: false });
          }
        } catch (err) {
          message = (err as Error).message;
        } finally {
          restore();
        }
        expect(message).toMatch(
          new RegExp(
            `^${spec.op}: out of memory on the wasm backend: could not allocate the \\[[\\d,]+\\] ` +
              `(float32|int32) ${site.what} \\(\\d+ bytes\\); the wasm heap is at most 4 GiB$`,
          ),
        );
        if (site.what === 'gradient') {
          expect(message).toContain(
            `[${site.xShape}] float32 gradient (${4 * size(site.xShape)} bytes)`,
          );
        }
        expect(memory().numTensors).toBe(tensors);
        expect(backend.numDataIds()).toBe(ids);
        expect(heap.buffer.byteLength).toBe(bytes);
        expect(new Uint8Array(heap.buffer, 0, 4096)).toEqual(low);

        // The backend keeps working: the next call is right.
        const again = OPS[spec.reducer](x, mask, site.axis);
        const ref = referenceMaskedReduce(
          spec.reducer,
          values,
          site.xShape,
          maskValues,
          site.maskShape,
          site.axis,
          false,
        );
        compareWithReference(`${spec.op} after the failure`, await again.data(), ref);
        dispose([x, mask, y, dy, again]);
      });
    }
  }
});

describe('long reductions accumulate in float32 blocks added into float64', () => {
  const cases: [string, number[], number[], number[]][] = [
    ['rows of 4 over T = 100,000', [1, 100000, 4], [1, 100000], [1]],
    ['inner 1 along T = 100,000', [1, 100000], [1, 100000], [1]],
    ['two reduced runs, 100,000 positions', [2, 50000, 3, 2], [2, 50000, 3], [0, 1]],
  ];
  for (const spec of WASM_SPECS.filter((s) => s.reducer === 'sum' || s.reducer === 'mean')) {
    for (const [label, xShape, maskShape, axis] of cases) {
      it(`${spec.op} of the constant 1.1, ${label}: within the bound (was 1.1010147)`, async () => {
        const x = fill(xShape, 1.1);
        const mask = ones(maskShape, 'bool');
        const y = OPS[spec.reducer](x, mask, axis);
        const ref = referenceMaskedReduce(
          spec.reducer,
          new Float32Array(size(xShape)).fill(1.1),
          xShape,
          new Uint8Array(size(maskShape)).fill(1),
          maskShape,
          axis,
          false,
        );
        compareWithReference(`${spec.op} ${label}`, await y.data(), ref);
        dispose([x, mask, y]);
      });
    }
  }
});

describe('a mean of finite values near float32 max is finite', () => {
  const cases: [string, number[], number[], number[]][] = [
    ['inner 1 (vectorised along the axis)', [1, 2], [1, 2], [1]],
    ['rows of 3', [1, 2, 3], [1, 2], [1]],
    ['rows of 3, 600 long (float64 partials)', [1, 600, 3], [1, 600], [1]],
    ['two reduced runs', [2, 2, 2, 3], [2, 2, 2], [0, 2]],
  ];
  for (const [label, xShape, maskShape, axis] of cases) {
    it(`mean of 3e38s = 3e38, sum = Inf: ${label}`, async () => {
      const x = fill(xShape, 3e38);
      const mask = ones(maskShape, 'bool');
      const mean = OPS.mean(x, mask, axis);
      const sum = OPS.sum(x, mask, axis);
      // Worked out by hand: every slice holds only 3e38.
      for (const v of await mean.data()) expect(v).toBe(Math.fround(3e38));
      for (const v of await sum.data()) expect(v).toBe(Number.POSITIVE_INFINITY);
      dispose([x, mask, mean, sum]);
    });
  }
});
