// Regression tests of defects fixed in the family release (one describe per defect).
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { MASKED_LOG_SUM_EXP, type MaskedReduction, referenceMaskedReduce } from '@masked-ops/core';
import { compareWithReference, OPS, runOp } from '@masked-ops/core/testing';
import {
  dispose,
  engine,
  fill,
  memory,
  ones,
  setBackend,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmHeapMemory } from '../src/index.js';
import { WASM_REDUCERS } from '../src/reducers.js';
import { failNthAllocation, type RawBackend } from './support/fail_allocation.js';
import { WASM_SPECS } from './support/ops.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

/** x [2,3,4] (or [2,300,4] for long slices), reduced over the given mask axes. */
interface Site {
  what: 'output' | 'scratch' | 'gradient';
  /** Which makeOutput call of the kernel fails: outputs come first, then scratch. */
  nth: (spec: MaskedReduction) => number;
  xShape: number[];
  maskShape: number[];
  axis: number[];
  gradient: boolean;
  /** Only reducers that add partials into float64 rows allocate this scratch. */
  accumulates?: boolean;
  /** Only ops with several outputs have this site. */
  severalOutputs?: boolean;
}

const afterOutputs = (spec: MaskedReduction) => spec.outputs.length;

const SITES: Site[] = [
  {
    what: 'output',
    nth: () => 0,
    xShape: [2, 3, 4],
    maskShape: [2, 3],
    axis: [1],
    gradient: false,
  },
  // The last output of an op with several (moments' variance), the first one allocated.
  {
    what: 'output',
    nth: (spec) => spec.outputs.length - 1,
    xShape: [2, 3, 4],
    maskShape: [2, 3],
    axis: [1],
    gradient: false,
    severalOutputs: true,
  },
  {
    what: 'scratch',
    nth: afterOutputs,
    xShape: [2, 3, 2, 4],
    maskShape: [2, 3, 2],
    axis: [0, 2],
    gradient: false,
  },
  {
    what: 'scratch',
    nth: afterOutputs,
    xShape: [2, 300, 4],
    maskShape: [2, 300],
    axis: [1],
    gradient: false,
    accumulates: true,
  },
  {
    what: 'gradient',
    nth: () => 0,
    xShape: [2, 3, 4],
    maskShape: [2, 3],
    axis: [1],
    gradient: true,
  },
  {
    what: 'scratch',
    nth: () => 1,
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
      if (site.accumulates && !WASM_REDUCERS[spec.reducer].accumulates) continue;
      if (site.severalOutputs && spec.outputs.length === 1) continue;
      const kernel = site.gradient ? spec.gradKernelName : spec.kernelName;
      const nth = site.nth(spec);
      it(`${kernel}: the ${site.what} (allocation ${nth}) of x [${site.xShape}] axis [${site.axis}]`, async () => {
        const backend = engine().backend as unknown as RawBackend;
        const values = Float32Array.from({ length: size(site.xShape) }, (_, i) => (i % 7) - 3);
        const x = tensor(values, site.xShape);
        const maskValues = Uint8Array.from({ length: size(site.maskShape) }, (_, i) => i % 3);
        const mask = tensor(maskValues, site.maskShape, 'bool');
        // The gradient kernel's inputs are made before the failing allocator is installed.
        const keepShape = site.xShape.map((d, i) => (site.axis.includes(i) ? 1 : d));
        const ys = runOp(spec, x, mask, site.axis, true);
        const dys = spec.outputs.map(() => ones(keepShape));
        const gradInputs: Record<string, Tensor> = { mask };
        dys.forEach((d, k) => {
          gradInputs[k === 0 ? 'dy' : `dy${k}`] = d;
        });
        if (spec.gradInputs.length > 0) Object.assign(gradInputs, { x, y: ys[0] });

        const heap = wasmHeapMemory();
        const low = new Uint8Array(heap.buffer, 0, 4096).slice();
        const tensors = memory().numTensors;
        const ids = backend.numDataIds();
        const bytes = heap.buffer.byteLength;
        const restore = failNthAllocation(nth);
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
        const again = runOp(spec, x, mask, site.axis);
        for (let k = 0; k < again.length; k++) {
          const ref = referenceMaskedReduce(
            spec.reducer,
            values,
            site.xShape,
            maskValues,
            site.maskShape,
            site.axis,
            false,
            k,
          );
          compareWithReference(`${spec.op}[${k}] after the failure`, await again[k]!.data(), ref);
        }
        dispose([x, mask, ...ys, ...dys, ...again]);
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
  // Sums and means (was 1.1010147), and the statistics' sums: logsumexp 1.1 + log(100,000),
  // moments 1.1 and a variance of 0.
  const accumulating = WASM_SPECS.filter((s) => !['max', 'min'].includes(s.reducer));
  for (const spec of accumulating) {
    for (const [label, xShape, maskShape, axis] of cases) {
      it(`${spec.op} of the constant 1.1, ${label}: within the bound`, async () => {
        const x = fill(xShape, 1.1);
        const mask = ones(maskShape, 'bool');
        const outs = runOp(spec, x, mask, axis);
        for (let k = 0; k < outs.length; k++) {
          const ref = referenceMaskedReduce(
            spec.reducer,
            new Float32Array(size(xShape)).fill(1.1),
            xShape,
            new Uint8Array(size(maskShape)).fill(1),
            maskShape,
            axis,
            false,
            k,
          );
          compareWithReference(`${spec.op}[${k}] ${label}`, await outs[k]!.data(), ref);
        }
        dispose([x, mask, ...outs]);
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

describe('the float32 exp of the statistics (assembly/math.ts)', () => {
  // MaskedLogSumExpGrad at y = 0 and dy = 1 is e^x at every valid position: rows of 7 cover the
  // SIMD lanes and the scalar tail. Math.exp rounded to float32 is the reference (measured: at
  // most 1 ulp apart, subnormal results included).
  it('is within 2 ulps of e^x over [-110, 95], and exact at 0, ±Inf, NaN, overflow, underflow', async () => {
    const values = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
    values.push(88.72283, 88.7228394, 88.72284, 89, 100, -103.28, -103.98, -104, -150, -1e30);
    for (let v = -110; v <= 95; v += 0.0031) values.push(Math.fround(v));
    const inner = 7;
    const rows = Math.ceil(values.length / inner);
    const xv = new Float32Array(rows * inner);
    xv.set(values);
    const x = tensor(xv, [rows, inner]);
    const mask = ones([rows], 'bool');
    const dy = ones([1, inner]);
    const y = fill([1, inner], 0);
    const dx = engine().runKernel(
      MASKED_LOG_SUM_EXP.gradKernelName,
      { dy, mask, x, y },
      { axis: [0], xShape: [rows, inner] },
    ) as Tensor;
    const got = await dx.data();
    const bits = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0]!;
    const problems: string[] = [];
    xv.forEach((v, i) => {
      const expected = Math.fround(Math.exp(v));
      const ok =
        Number.isFinite(expected) && expected !== 0
          ? Math.abs(bits(got[i]!) - bits(expected)) <= 2
          : Object.is(got[i], expected);
      if (!ok) problems.push(`e^${v}: ${got[i]}, expected ${expected}`);
    });
    expect(problems.slice(0, 5)).toEqual([]);
    expect(Object.is(got[0], 1), 'e^0 is exactly 1').toBe(true);
    dispose([x, mask, dy, y, dx]);
  });
});
