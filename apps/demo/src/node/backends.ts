// The backends the CLI runs in Node itself: tfjs's cpu and wasm backends with our plugins, loaded
// on first use so that a run of one backend does not initialise the other.
import '@tensorflow/tfjs-layers'; // registers tfjs's built-in gradients (the composite needs them)
import * as tf from '@tensorflow/tfjs-core';

const loaders: Record<string, () => Promise<unknown>> = {
  cpu: () =>
    Promise.all([import('@tensorflow/tfjs-backend-cpu'), import('@masked-ops/backend-cpu')]),
  wasm: () =>
    Promise.all([import('@tensorflow/tfjs-backend-wasm'), import('@masked-ops/backend-wasm')]),
};

export async function useNodeBackend(name: string): Promise<void> {
  const load = loaders[name];
  if (!load) throw new Error(`no Node backend ${name}`);
  await load();
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}
