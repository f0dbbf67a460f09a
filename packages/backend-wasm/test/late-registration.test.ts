// The package imported only after the wasm backend is active: no setupFunc ran, so the kernel
// modules must be instantiated on the first call, for every op.
import '@tensorflow/tfjs-backend-wasm';
import { MASKED_REDUCTIONS, type ReducerName } from '@masked-ops/core';
import { runOp } from '@masked-ops/core/testing';
import {
  dispose,
  getKernel,
  grad,
  profile,
  setBackend,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

// x [2,3,2] over axis 1 with mask [[1,1,0],[0,0,0]]: worked out by hand, one entry per output
// of the op. Row 0 reduces [1,2] and [3,4]; row 1 is empty.
// logsumexp: log(e^1 + e^3) = 3 + log(1 + e^-2) = 3.126928011..., likewise 4.126928011...
// moments: mean [2,3], variance ((1-2)^2 + (3-2)^2) / 2 = 1, likewise 1.
const FORWARD: Record<ReducerName, number[][][]> = {
  sum: [
    [
      [4, 6],
      [0, 0],
    ],
  ],
  mean: [
    [
      [2, 3],
      [0, 0],
    ],
  ],
  max: [
    [
      [3, 4],
      [0, 0],
    ],
  ],
  min: [
    [
      [1, 2],
      [0, 0],
    ],
  ],
  logsumexp: [
    [
      [3.126928011, 4.126928011],
      [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ],
  ],
  moments: [
    [
      [2, 3],
      [0, 0],
    ],
    [
      [1, 1],
      [0, 0],
    ],
  ],
};
// dy [[2, 4], [1, 1]] for each output in turn: row 0 of dx; row 1 is all masked (zeros).
// logsumexp: dy * softmax, softmax = [1, e^2] / (1 + e^2) = [0.119202922, 0.880797078].
// moments: the mean's dy / 2; the variance's 2 dy (x - mean) / 2 = dy * [-1, 1].
const GRADIENT_ROW0: Record<ReducerName, number[][][]> = {
  sum: [
    [
      [2, 4],
      [2, 4],
      [0, 0],
    ],
  ],
  mean: [
    [
      [1, 2],
      [1, 2],
      [0, 0],
    ],
  ],
  max: [
    [
      [0, 0],
      [2, 4],
      [0, 0],
    ],
  ],
  min: [
    [
      [2, 4],
      [0, 0],
      [0, 0],
    ],
  ],
  logsumexp: [
    [
      [0.238405844, 0.476811688],
      [1.761594156, 3.523188312],
      [0, 0],
    ],
  ],
  moments: [
    [
      [1, 2],
      [1, 2],
      [0, 0],
    ],
    [
      [-2, -4],
      [2, 4],
      [0, 0],
    ],
  ],
};

/** Equal, or within float32 rounding of the hand-computed value (logsumexp is inexact). */
function expectClose(actual: unknown, expected: unknown, what: string): void {
  const a = (actual as number[][]).flat();
  const e = (expected as number[][]).flat();
  expect(a.length, what).toBe(e.length);
  a.forEach((v, i) => {
    if (v === e[i]) return;
    expect(Math.abs(v - e[i]!), `${what} [${i}]: ${v} vs ${e[i]}`).toBeLessThanOrEqual(
      1e-6 * (1 + Math.abs(e[i]!)),
    );
  });
}

it('works when imported after setBackend("wasm"), every op', async () => {
  expect(await setBackend('wasm')).toBe(true);
  for (const spec of MASKED_REDUCTIONS) expect(getKernel(spec.kernelName, 'wasm')).toBeUndefined();
  await import('../src/index.js');
  const { WASM_SPECS } = await import('./support/ops.js');
  const x = tensor([1, 2, 3, 4, 50, 60, 5, 6, 7, 8, 9, 10], [2, 3, 2]);
  const mask = tensor([1, 1, 0, 0, 0, 0], [2, 3], 'bool');
  const dy = tensor([2, 4, 1, 1], [2, 2]);
  for (const spec of WASM_SPECS) {
    expect(getKernel(spec.kernelName, 'wasm')).toBeDefined();
    expect(getKernel(spec.gradKernelName, 'wasm')).toBeDefined();
    const info = await profile(() => runOp(spec, x, mask, 1));
    expect(info.kernels.map((k) => k.name)).toContain(spec.kernelName);
    const outs = info.result as Tensor[];
    expect(outs.length).toBe(FORWARD[spec.reducer].length);
    for (let k = 0; k < outs.length; k++) {
      expectClose(await outs[k]!.array(), FORWARD[spec.reducer][k], `${spec.op}[${k}]`);
      const dx = grad((v: Tensor) => {
        const all = runOp(spec, v, mask, 1);
        dispose(all.filter((_, i) => i !== k));
        return all[k]!;
      })(x, dy);
      const rows = (await dx.array()) as number[][][];
      expectClose(rows[0], GRADIENT_ROW0[spec.reducer][k], `${spec.op}[${k}] dx row 0`);
      expect(rows[1]).toEqual([
        [0, 0],
        [0, 0],
        [0, 0],
      ]);
      dispose(dx);
    }
    dispose(outs);
  }
});
