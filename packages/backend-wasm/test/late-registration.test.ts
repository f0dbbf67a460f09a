// The package imported only after the wasm backend is active: no setupFunc ran, so the kernel
// modules must be instantiated on the first call, for every op.
import '@tensorflow/tfjs-backend-wasm';
import { MASKED_REDUCTIONS, type ReducerName } from '@masked-ops/core';
import { OPS } from '@masked-ops/core/testing';
import { getKernel, grad, profile, setBackend, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

// x [2,3,2] over axis 1 with mask [[1,1,0],[0,0,0]]: worked out by hand.
const FORWARD: Record<ReducerName, number[][]> = {
  sum: [
    [4, 6],
    [0, 0],
  ],
  mean: [
    [2, 3],
    [0, 0],
  ],
  max: [
    [3, 4],
    [0, 0],
  ],
  min: [
    [1, 2],
    [0, 0],
  ],
};
// dy [[2, 4], [1, 1]]: row 0 of dx; row 1 is all masked (zeros).
const GRADIENT_ROW0: Record<ReducerName, number[][]> = {
  sum: [
    [2, 4],
    [2, 4],
    [0, 0],
  ],
  mean: [
    [1, 2],
    [1, 2],
    [0, 0],
  ],
  max: [
    [0, 0],
    [2, 4],
    [0, 0],
  ],
  min: [
    [2, 4],
    [0, 0],
    [0, 0],
  ],
};

it('works when imported after setBackend("wasm"), every op', async () => {
  expect(await setBackend('wasm')).toBe(true);
  for (const spec of MASKED_REDUCTIONS) expect(getKernel(spec.kernelName, 'wasm')).toBeUndefined();
  await import('../src/index.js');
  const { WASM_SPECS } = await import('./support/ops.js');
  const x = tensor([1, 2, 3, 4, 50, 60, 5, 6, 7, 8, 9, 10], [2, 3, 2]);
  const mask = tensor([1, 1, 0, 0, 0, 0], [2, 3], 'bool');
  const dy = tensor([2, 4, 1, 1], [2, 2]);
  for (const spec of WASM_SPECS) {
    const op = OPS[spec.reducer];
    expect(getKernel(spec.kernelName, 'wasm')).toBeDefined();
    expect(getKernel(spec.gradKernelName, 'wasm')).toBeDefined();
    const info = await profile(() => op(x, mask, 1));
    expect(info.kernels.map((k) => k.name)).toContain(spec.kernelName);
    expect(await (info.result as Tensor).array()).toEqual(FORWARD[spec.reducer]);
    const dx = grad((v: Tensor) => op(v, mask, 1))(x, dy);
    expect(await dx.array()).toEqual([
      GRADIENT_ROW0[spec.reducer],
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    ]);
  }
});
