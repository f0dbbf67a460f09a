import { serialization } from '@tensorflow/tfjs-core';
import { GlobalAveragePooling1D } from './global_average_pooling_1d.js';
import { MaskedMeanPooling } from './masked_mean_pooling.js';

type Registered = serialization.SerializableConstructor<serialization.Serializable>;

const registered = (className: string): Registered | undefined =>
  serialization.SerializationMap.getMap().classNameMap[className]?.[0] as Registered | undefined;

/**
 * Make `tf.loadLayersModel` / `tf.models.modelFromJSON` build this package's mask-aware
 * `GlobalAveragePooling1D` wherever a model's JSON says `"class_name": "GlobalAveragePooling1D"`
 * (Keras-converted models included), instead of tfjs-layers' own class, which ignores masks.
 *
 * tfjs looks classes up by `className`, and registering a class under a name that is already taken
 * replaces the earlier one, so this has to run after `@tensorflow/tfjs-layers` has loaded (importing
 * this package guarantees that) and before the model is loaded. Models without a mask are unaffected
 * (with no mask the layer is `tf.mean` over the steps axis), except that a config's `data_format:
 * "channels_first"` / `keepdims: true`, which tfjs's class ignores, now apply as in Keras. Calling it
 * again is harmless.
 *
 * Also registers `MaskedMeanPooling` (a new name, which importing the package already does).
 *
 * @returns a function that puts back whatever class was registered as `GlobalAveragePooling1D`
 *   before this call (normally tfjs-layers' own), e.g. for tests.
 */
export function registerMaskingLayers(): () => void {
  const previous = registered(GlobalAveragePooling1D.className);
  serialization.registerClass(GlobalAveragePooling1D);
  serialization.registerClass(MaskedMeanPooling);
  return () => {
    if (previous != null && previous !== GlobalAveragePooling1D) {
      serialization.registerClass(previous);
    }
  };
}

/** Whether `tf.loadLayersModel` currently builds this package's `GlobalAveragePooling1D`. */
export function maskingLayersRegistered(): boolean {
  return registered(GlobalAveragePooling1D.className) === GlobalAveragePooling1D;
}
