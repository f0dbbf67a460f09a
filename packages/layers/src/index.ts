import { serialization } from '@tensorflow/tfjs-core';
import { MaskedMeanPooling } from './masked_mean_pooling.js';

// Importing the package registers only the class whose name is new to tfjs (`MaskedMeanPooling`),
// so saved models that use it load. It does NOT replace tfjs-layers' `GlobalAveragePooling1D` for
// model loading: that changes what existing model files compute, so it takes an explicit
// `registerMaskingLayers()`. (`@masked-ops/core`, imported by the layers, registers the maskedMean
// gradient.)
serialization.registerClass(MaskedMeanPooling);

export {
  GlobalAveragePooling1D,
  type GlobalAveragePooling1DLayerArgs,
  globalAveragePooling1d,
} from './global_average_pooling_1d.js';
export {
  MaskedMeanPooling,
  type MaskedMeanPoolingLayerArgs,
  maskedMeanPooling,
} from './masked_mean_pooling.js';
export { maskingLayersRegistered, registerMaskingLayers } from './register.js';
export type { DataFormat, DataFormatArg } from './types.js';
