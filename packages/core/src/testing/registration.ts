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
import { MaskedMean, MaskedMeanGrad } from '../kernel_names.js';
import { maskedMean } from '../masked_mean.js';
import type { TestApi } from './suite.js';

const same = (a: unknown, b: unknown, what: string): void => {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`${what}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  }
};

/**
 * What every plugin promises about registration: importing it registers exactly its exported
 * configs for `backend`; with them unregistered the op takes the composite path (same result), and
 * re-registering the exported configs brings the fused kernel back. Run with `backend` active.
 */
export function defineRegistrationSuite(
  t: TestApi,
  backend: string,
  configs: KernelConfig[],
): void {
  t.describe(`${backend} kernel registration`, () => {
    t.it('importing the plugin registers its exported configs', () => {
      for (const name of [MaskedMean, MaskedMeanGrad]) {
        const config = configs.find((c) => c.kernelName === name);
        if (!config || config.backendName !== backend)
          throw new Error(`no ${name} config for ${backend}`);
        if (getKernel(name, backend)?.kernelFunc !== config.kernelFunc) {
          throw new Error(`${name} for ${backend} is not the exported config's kernel`);
        }
      }
    });

    t.it(
      'unregistered: the composite path, same result; re-registered: the fused kernel',
      async () => {
        const x = tensor([1, 2, 3, 4, 100, 100], [3, 2]);
        const mask = tensor([1, 1, 0], [3], 'bool');
        const run = async () => {
          const info = await profile(() => maskedMean(x, mask, 0));
          const values = Array.from(await (info.result as Tensor).data());
          dispose(info.result as Tensor);
          return { values, fused: info.kernels.some((k) => k.name === MaskedMean) };
        };
        for (const c of configs) unregisterKernel(c.kernelName, backend);
        try {
          same(await run(), { values: [2, 3], fused: false }, 'without the plugin kernels');
        } finally {
          for (const c of configs) registerKernel(c);
        }
        same(await run(), { values: [2, 3], fused: true }, 'with the plugin kernels re-registered');
        dispose([x, mask]);
      },
    );
  });
}
