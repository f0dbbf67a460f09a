import {
  dispose,
  getKernel,
  type KernelConfig,
  profile,
  registerKernel,
  type Tensor,
  tensor,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { MASKED_REDUCTIONS, type ReducerName } from '../ops/table.js';
import { OPS, type TestApi } from './suite.js';

const same = (a: unknown, b: unknown, what: string): void => {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`${what}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  }
};

/** x [3,2] with the last row masked out: what each op gives over axis 0 (worked out by hand). */
const EXPECTED: Record<ReducerName, number[]> = {
  sum: [4, 6],
  mean: [2, 3],
  max: [3, 4],
  min: [1, 2],
};

/**
 * What every plugin promises about registration: importing it registers exactly its exported
 * configs for `backend`, one forward and one gradient kernel per row of the op table; with them
 * unregistered every op takes the composite path (same result), and re-registering the exported
 * configs brings the fused kernels back. Run with `backend` active.
 */
export function defineRegistrationSuite(
  t: TestApi,
  backend: string,
  configs: KernelConfig[],
): void {
  t.describe(`${backend} kernel registration`, () => {
    t.it('importing the plugin registers its exported configs for every op of the table', () => {
      for (const spec of MASKED_REDUCTIONS) {
        for (const name of [spec.kernelName, spec.gradKernelName]) {
          const config = configs.find((c) => c.kernelName === name);
          if (!config || config.backendName !== backend) {
            throw new Error(`no ${name} config for ${backend}`);
          }
          if (getKernel(name, backend)?.kernelFunc !== config.kernelFunc) {
            throw new Error(`${name} for ${backend} is not the exported config's kernel`);
          }
        }
      }
    });

    t.it(
      'unregistered: the composite path, same result; re-registered: the fused kernels',
      async () => {
        const x = tensor([1, 2, 3, 4, 100, 100], [3, 2]);
        const mask = tensor([1, 1, 0], [3], 'bool');
        const run = async () => {
          const out: Record<string, { values: number[]; fused: boolean }> = {};
          for (const spec of MASKED_REDUCTIONS) {
            const info = await profile(() => OPS[spec.reducer](x, mask, 0));
            const values = Array.from(await (info.result as Tensor).data());
            dispose(info.result as Tensor);
            out[spec.op] = { values, fused: info.kernels.some((k) => k.name === spec.kernelName) };
          }
          return out;
        };
        const expected = (fused: boolean) =>
          Object.fromEntries(
            MASKED_REDUCTIONS.map((s) => [s.op, { values: EXPECTED[s.reducer], fused }]),
          );
        for (const c of configs) unregisterKernel(c.kernelName, backend);
        try {
          same(await run(), expected(false), 'without the plugin kernels');
        } finally {
          for (const c of configs) registerKernel(c);
        }
        same(await run(), expected(true), 'with the plugin kernels re-registered');
        dispose([x, mask]);
      },
    );
  });
}
