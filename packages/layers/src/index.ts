import { serialization } from '@tensorflow/tfjs-core';
import { NEW_LAYER_CLASSES } from './register.js';

// Importing the package registers only the classes whose names are new to tfjs
// (`MaskedMeanPooling`, `MaskedMaxPooling`, `EmbeddingBag`), so saved models that use them load.
// It does NOT replace tfjs-layers' `GlobalAveragePooling1D` / `GlobalMaxPooling1D` / `Softmax` for model
// loading: that changes what existing model files compute, so it takes an explicit
// `registerMaskingLayers()`.
// (`@masked-ops/core`, imported by the layers, registers the gradients of the masked ops.)
for (const cls of NEW_LAYER_CLASSES) serialization.registerClass(cls);

export {
  EmbeddingBag,
  type EmbeddingBagLayerArgs,
  embeddingBagLayer,
} from './embedding_bag.js';
export {
  GlobalAveragePooling1D,
  type GlobalAveragePooling1DLayerArgs,
  globalAveragePooling1d,
} from './global_average_pooling_1d.js';
export {
  GlobalMaxPooling1D,
  type GlobalMaxPooling1DLayerArgs,
  globalMaxPooling1d,
} from './global_max_pooling_1d.js';
export {
  MaskedMaxPooling,
  type MaskedMaxPoolingLayerArgs,
  maskedMaxPooling,
} from './masked_max_pooling.js';
export {
  MaskedMeanPooling,
  type MaskedMeanPoolingLayerArgs,
  maskedMeanPooling,
} from './masked_mean_pooling.js';
export type {
  AxisPoolingLayerArgs,
  GlobalPooling1DLayerArgs,
  MaskedAxisPooling,
  MaskedGlobalPooling1D,
} from './pooling.js';
export { maskingLayersRegistered, registerMaskingLayers } from './register.js';
export { Softmax, type SoftmaxLayerArgs, softmaxLayer } from './softmax.js';
export type { DataFormat, DataFormatArg } from './types.js';
export type {
  ConstraintArg,
  InitializerArg,
  RegularizerArg,
  SerializedWeightArg,
} from './weight_args.js';
