// The package imported only after the wasm backend is active: no setupFunc ran, so the kernel
// module must be instantiated on the first call.
import '@tensorflow/tfjs-backend-wasm';
import { MaskedMean, MaskedMeanGrad, maskedMean } from '@masked-ops/core';
import { getKernel, grad, profile, setBackend, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

it('works when imported after setBackend("wasm")', async () => {
  expect(await setBackend('wasm')).toBe(true);
  expect(getKernel(MaskedMean, 'wasm')).toBeUndefined();
  await import('../src/index.js');
  expect(getKernel(MaskedMean, 'wasm')).toBeDefined();
  const x = tensor([
    [
      [1, 2],
      [3, 4],
      [50, 60],
    ],
    [
      [5, 6],
      [7, 8],
      [9, 10],
    ],
  ]);
  const mask = tensor(
    [
      [1, 1, 0],
      [0, 0, 0],
    ],
    [2, 3],
    'bool',
  );
  const info = await profile(() => maskedMean(x, mask, 1));
  expect(info.kernels.map((k) => k.name)).toContain(MaskedMean);
  expect(await (info.result as Tensor).array()).toEqual([
    [2, 3],
    [0, 0],
  ]);
  const dx = grad((v: Tensor) => maskedMean(v, mask, 1))(
    x,
    tensor([
      [2, 4],
      [1, 1],
    ]),
  );
  expect(await dx.array()).toEqual([
    [
      [1, 2],
      [1, 2],
      [0, 0],
    ],
    [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  ]);
  expect(getKernel(MaskedMeanGrad, 'wasm')).toBeDefined();
});
