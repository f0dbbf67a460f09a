import '@tensorflow/tfjs-backend-webgl';
import { env, setBackend, sum, tensor } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

it('runs webgl', async () => {
  expect(await setBackend('webgl')).toBe(true);
  expect(env().getNumber('WEBGL_VERSION')).toBe(2);
  expect(await sum(tensor([1, 2, 3])).data()).toEqual(new Float32Array([6]));
});
