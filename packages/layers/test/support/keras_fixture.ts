/**
 * The hand-written Keras fixtures (what the TensorFlow.js converter writes for Keras 2.15's
 * `Sequential([Embedding(5, 2, mask_zero=True, input_length=4), <pooling>(), Dense(1)])`):
 * test/fixtures/keras-embedding-gap1d.model.json with `GlobalAveragePooling1D` and
 * test/fixtures/keras-embedding-gmp1d.model.json with `GlobalMaxPooling1D` (the same file with the
 * pooling layer's class and name swapped; Keras's own GlobalMaxPooling1D has no mask support, so
 * the masked max expected there is this package's semantics, not a Keras prediction), and their
 * shared weights, served through an IOHandler
 * that resolves the manifest's `paths` the way the http handler does (via
 * `tf.io.getModelArtifactsForJSON`), from buffers in memory.
 */
import { readFileSync } from 'node:fs';
import { io } from '@tensorflow/tfjs-core';

/** In the manifest's order: dense/kernel [2,1], dense/bias [1], embedding/embeddings [5,2]. */
export const KERAS_WEIGHTS = {
  denseKernel: [0.5, -1],
  denseBias: [0.25],
  // Rows 0 (padding) .. 4.
  embeddings: [
    [0, 0],
    [1, 1],
    [3, 3],
    [2, -2],
    [-4, 6],
  ],
};

export const KERAS_INPUT = [
  [1, 2, 0, 0],
  [3, 4, 4, 0],
  [0, 0, 0, 0],
  [1, 2, 3, 4],
];

/*
 * By hand. Masked means of the embeddings per row: [2, 2], [(2-4-4)/3, (-2+6+6)/3] = [-2, 10/3],
 * [0, 0] (all padding), [(1+3+2-4)/4, (1+3-2+6)/4] = [0.5, 2]. Dense: 0.5 a - b + 0.25.
 */
export const KERAS_EXPECTED_MASKED = [[-0.75], [-1 - 10 / 3 + 0.25], [0.25], [-1.5]];
/*
 * Stock tfjs (padding averaged in, /4): [1, 1], [-6/4, 10/4] = [-1.5, 2.5], [0, 0], [0.5, 2]
 * -> -0.25, -0.75 - 2.5 + 0.25 = -3, 0.25, -1.5. Also what a model without mask_zero computes.
 */
export const KERAS_EXPECTED_PADDED = [[-0.25], [-3], [0.25], [-1.5]];

/*
 * The GlobalMaxPooling1D fixture. Rows chosen so that the padding's [0, 0] matters: a feature whose
 * real values are all negative. By hand, masked max per row: [2, -2], [-4, 6], [0, 0] (all
 * padding), [max(1, 3, 2, -4), max(1, 3, -2, 6)] = [3, 6]. Dense: 0.5 a - b + 0.25.
 */
export const KERAS_MAX_INPUT = [
  [3, 0, 0, 0],
  [4, 4, 0, 0],
  [0, 0, 0, 0],
  [1, 2, 3, 4],
];
export const KERAS_MAX_EXPECTED_MASKED = [[3.25], [-7.75], [0.25], [-4.25]];
/*
 * Stock tfjs (the padding's [0, 0] in the max): [2, 0], [0, 6], [0, 0], [3, 6] -> 1.25, -5.75,
 * 0.25, -4.25. Also what a model without mask_zero computes.
 */
export const KERAS_MAX_EXPECTED_PADDED = [[1.25], [-5.75], [0.25], [-4.25]];

export type ModelJson = io.ModelJSON;

/** The layer name of the pooling layer in each fixture. */
export const KERAS_POOL_NAME = {
  gap1d: 'global_average_pooling1d',
  gmp1d: 'global_max_pooling1d',
} as const;

export function kerasModelJson(fixture: keyof typeof KERAS_POOL_NAME = 'gap1d'): ModelJson {
  const url = new URL(`../fixtures/keras-embedding-${fixture}.model.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as ModelJson;
}

/** The shard file, as the converter would write it: little-endian float32s in manifest order. */
export function kerasWeightsBin(): ArrayBuffer {
  const values = [
    ...KERAS_WEIGHTS.denseKernel,
    ...KERAS_WEIGHTS.denseBias,
    ...KERAS_WEIGHTS.embeddings.flat(),
  ];
  return new Float32Array(values).buffer;
}

/** An IOHandler serving `modelJson` and its shards (by path name) from memory. */
export function memoryModelHandler(
  modelJson: ModelJson,
  shards: Record<string, ArrayBuffer>,
): io.IOHandler {
  return {
    load: () =>
      io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const shard = shards[path];
            if (shard == null) throw new Error(`no shard named ${path}`);
            buffers.push(shard);
          }
        }
        return [specs, io.concatenateArrayBuffers(buffers)];
      }),
  };
}
