import { registerGradient } from '@tensorflow/tfjs-core';
import { gradConfigsFor } from './gradients.js';
import { MASKED_REDUCTIONS } from './ops/table.js';
import { MASKED_SOFTMAXES } from './softmax/contract.js';
import { softmaxGradConfig } from './softmax/masked_softmax.js';

// Importing the package registers every op's gradients (forward kernel and gradient kernel), so
// tf.grad / optimizers / model.fit work on every backend, with or without a plugin kernel.
for (const spec of MASKED_REDUCTIONS)
  for (const config of gradConfigsFor(spec)) registerGradient(config);
for (const row of MASKED_SOFTMAXES) registerGradient(softmaxGradConfig(row));

export { compositeEmbeddingBag, compositeEmbeddingBagGrads } from './bag/composite.js';
export {
  asBagAttrs,
  asBagGradAttrs,
  badOffsets,
  EMBEDDING_BAG,
  type EmbeddingBagAttrs,
  type EmbeddingBagGradAttrs,
  type EmbeddingBagGradInputs,
  type EmbeddingBagInputs,
  type EmbeddingBagMode,
  type EmbeddingBagSampleWeightsGradInputs,
  idOutOfRange,
} from './bag/contract.js';
export { type EmbeddingBagOptions, embeddingBag } from './bag/embedding_bag.js';
export { type BagArgInfo, validateBagArgs } from './bag/validate.js';
export { compositeMaskedReduce, compositeMaskedReduceGrad } from './fallback/composite.js';
export {
  forEachReduced,
  keptBase,
  type MaskedGeometry,
  type MaskLayout,
  maskedGeometry,
  maskLayout,
  type Run,
} from './geometry.js';
export { cotangentName, gradConfigsFor, maskedReduceGradient } from './gradients.js';
export {
  asReduceAttrs,
  asReduceGradAttrs,
  type MaskedReduceGradInputs,
  type MaskedReduceInputs,
} from './kernels.js';
export {
  maskedLogSumExp,
  maskedMax,
  maskedMean,
  maskedMin,
  maskedMoments,
  maskedSum,
} from './ops/index.js';
export {
  type MaskedArgs,
  type MaskedMultiOp,
  type MaskedReduceOp,
  prepareMaskedArgs,
} from './ops/masked_reduce.js';
export {
  type GradInput,
  MASKED_LOG_SUM_EXP,
  MASKED_MAX,
  MASKED_MEAN,
  MASKED_MIN,
  MASKED_MOMENTS,
  MASKED_REDUCTIONS,
  MASKED_SUM,
  type MaskedReduceAttrs,
  type MaskedReduceGradAttrs,
  type MaskedReduction,
  maskedReduction,
  type ReducerName,
} from './ops/table.js';
export {
  type ReferenceBagGrad,
  type ReferenceBagInput,
  type ReferenceBagResult,
  referenceEmbeddingBag,
  referenceEmbeddingBagGrad,
} from './reference/embedding_bag.js';
export {
  type ReferenceName,
  type ReferenceResult,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
  referenceMaskedReduceGradAdjoint,
  referenceMaskedReduceGradScales,
} from './reference/masked_reduce.js';
export { REFERENCE_REDUCERS, type ReferenceReducer } from './reference/reducers.js';
export {
  type ReferenceSoftmaxGrad,
  type ReferenceSoftmaxInput,
  type ReferenceSoftmaxResult,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from './reference/softmax.js';
export {
  compositeMaskedSoftmax,
  compositeMaskedSoftmaxGrad,
} from './softmax/composite.js';
export {
  asSoftmaxAttrs,
  MASKED_LOG_SOFTMAX,
  MASKED_SOFTMAX,
  MASKED_SOFTMAXES,
  type MaskedSoftmaxAttrs,
  type MaskedSoftmaxGradInputs,
  type MaskedSoftmaxInputs,
  type MaskedSoftmaxRow,
} from './softmax/contract.js';
export {
  maskOffset,
  type SoftmaxDim,
  type SoftmaxGeometry,
  softmaxGeometry,
} from './softmax/geometry.js';
export {
  type MaskedSoftmaxOp,
  maskedLogSoftmax,
  maskedSoftmax,
  maskedSoftmaxGradient,
} from './softmax/masked_softmax.js';
export { type SoftmaxArgInfo, validateSoftmaxArgs } from './softmax/validate.js';
export { type MaskedArgInfo, validateMaskedArgs } from './validate.js';
