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
import { runOp, type TestApi } from './suite.js';

type Outcome = Record<string, { values: number[]; fused: boolean }>;

/** Same ops on the same paths, and values equal to float32 rounding (log-sum-exp is inexact). */
const same = (a: Outcome, b: Outcome, what: string): void => {
  const close = (u: number[], v: number[]) =>
    u.length === v.length && u.every((x, i) => Math.abs(x - v[i]!) <= 1e-6 * (1 + Math.abs(v[i]!)));
  const ok =
    JSON.stringify(Object.keys(a)) === JSON.stringify(Object.keys(b)) &&
    Object.keys(b).every((k) => a[k]!.fused === b[k]!.fused && close(a[k]!.values, b[k]!.values));
  if (!ok) throw new Error(`${what}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
};

/**
 * x [3,2] = [[1,2],[3,4],[100,100]] with the last row masked out: what each op gives over axis 0
 * (worked out by hand; moments lists the mean, then the variance).
 */
const LOG1P_E_MINUS_2 = Math.log1p(Math.exp(-2)); // log(e^1 + e^3) = 3 + log(1 + e^-2)
const EXPECTED: Record<ReducerName, number[]> = {
  sum: [4, 6],
  mean: [2, 3],
  max: [3, 4],
  min: [1, 2],
  logsumexp: [3 + LOG1P_E_MINUS_2, 4 + LOG1P_E_MINUS_2],
  moments: [2, 3, 1, 1],
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
          const out: Outcome = {};
          for (const spec of MASKED_REDUCTIONS) {
            const info = await profile(() => runOp(spec, x, mask, 0));
            const results = info.result as Tensor[];
            const values = (await Promise.all(results.map((r) => r.data()))).flatMap((d) =>
              Array.from(d),
            );
            dispose(results);
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
