import { serialization } from '@tensorflow/tfjs-core';
import { EmbeddingBag } from './embedding_bag.js';
import { GlobalAveragePooling1D } from './global_average_pooling_1d.js';
import { GlobalMaxPooling1D } from './global_max_pooling_1d.js';
import { MaskedMaxPooling } from './masked_max_pooling.js';
import { MaskedMeanPooling } from './masked_mean_pooling.js';
import { Softmax } from './softmax.js';

type Registered = serialization.SerializableConstructor<serialization.Serializable>;

/** Classes under names new to tfjs: importing the package registers them (index.ts). */
export const NEW_LAYER_CLASSES: readonly Registered[] = [
  MaskedMeanPooling,
  MaskedMaxPooling,
  EmbeddingBag,
];

/** Classes that take over a name tfjs-layers already registers: only `registerMaskingLayers()`. */
const REPLACING_LAYER_CLASSES: readonly Registered[] = [
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  Softmax,
];

const registered = (className: string): Registered | undefined =>
  serialization.SerializationMap.getMap().classNameMap[className]?.[0] as Registered | undefined;

/**
 * Make `tf.loadLayersModel` / `tf.models.modelFromJSON` build this package's mask-aware
 * `GlobalAveragePooling1D`, `GlobalMaxPooling1D` and `Softmax` wherever a model's JSON says
 * `"class_name": "GlobalAveragePooling1D"` / `"GlobalMaxPooling1D"` / `"Softmax"` (Keras-converted
 * models included), instead of tfjs-layers' own classes, which ignore masks (the pooling layers)
 * or add -1e9 to masked logits (Softmax: non-zero probabilities at padding, and a mask of the
 * wrong rank broadcast across the wrong axes).
 *
 * tfjs looks classes up by `className`, and registering a class under a name that is already taken
 * replaces the earlier one, so this has to run after `@tensorflow/tfjs-layers` has loaded (importing
 * this package guarantees that) and before the model is loaded. Models without a mask are unaffected
 * (with no mask the layers are `tf.mean` / `tf.max` over the steps axis and `tf.softmax`), except
 * that a config's `data_format: "channels_first"` / `keepdims: true`, which tfjs's classes ignore,
 * now apply as in Keras, and a Softmax `axis` that is not the last, which tfjs rejects, works. Calling it again is harmless.
 *
 * Also registers `MaskedMeanPooling`, `MaskedMaxPooling` and `EmbeddingBag` (new names, which
 * importing the package already does).
 *
 * @returns a function that puts back whatever classes were registered under those names before
 *   this call (normally tfjs-layers' own), e.g. for tests.
 */
export function registerMaskingLayers(): () => void {
  const previous = REPLACING_LAYER_CLASSES.map((cls) => registered(cls.className));
  for (const cls of [...REPLACING_LAYER_CLASSES, ...NEW_LAYER_CLASSES]) {
    serialization.registerClass(cls);
  }
  return () => {
    previous.forEach((prev, i) => {
      if (prev != null && prev !== REPLACING_LAYER_CLASSES[i]) serialization.registerClass(prev);
    });
  };
}

/**
 * Whether `tf.loadLayersModel` currently builds this package's `GlobalAveragePooling1D`,
 * `GlobalMaxPooling1D` and `Softmax` (all three, as `registerMaskingLayers()` leaves them).
 */
export function maskingLayersRegistered(): boolean {
  return REPLACING_LAYER_CLASSES.every((cls) => registered(cls.className) === cls);
}
