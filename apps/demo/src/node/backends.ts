// The backends the CLI runs in Node itself: tfjs's cpu and wasm backends with our plugins, loaded
// on first use so that a run of one backend does not initialise the other.
import '@tensorflow/tfjs-layers'; // registers tfjs's built-in gradients (the composite needs them)
import * as tf from '@tensorflow/tfjs-core';

const loaders: Record<string, { tfjs: () => Promise<unknown>; plugin: () => Promise<unknown> }> = {
  cpu: {
    tfjs: () => import('@tensorflow/tfjs-backend-cpu'),
    plugin: () => import('@masked-ops/backend-cpu'),
  },
  wasm: {
    tfjs: () => import('@tensorflow/tfjs-backend-wasm'),
    plugin: () => import('@masked-ops/backend-wasm'),
  },
};

/**
 * Activates a Node backend. Returns why its plugin failed to load, if it did: its ops then run on
 * core's composite fallback (the matrix's kernels column and the bench rows say so), which keeps
 * the demo usable while a backend package is being rebuilt.
 */
export async function useNodeBackend(name: string): Promise<string | undefined> {
  const load = loaders[name];
  if (!load) throw new Error(`no Node backend ${name}`);
  await load.tfjs();
  let pluginError: string | undefined;
  await load.plugin().catch((err: Error) => {
    pluginError = err.message;
  });
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  return pluginError;
}
