import { type GlobalPooling1DLayerArgs, MAX_POOLING, MaskedGlobalPooling1D } from './pooling.js';

export type GlobalMaxPooling1DLayerArgs = GlobalPooling1DLayerArgs;

/**
 * Global max pooling over the steps of a 3-D input, **with mask support**: a drop-in replacement
 * for tfjs-layers' `GlobalMaxPooling1D` (same `className`, same config keys as tfjs and Keras:
 * `dataFormat` / `data_format`, `keepDims` / `keepdims`).
 *
 * When the previous layer produces a mask (`Embedding({maskZero: true})`, `Masking`, an RNN with
 * `returnSequences`), the max runs over the unmasked steps only (`maskedMax`), so the padding's
 * vector never wins the max; a row whose steps are all masked gives 0. Without a mask it is
 * `tf.max` over the steps axis, as in tfjs. The layer consumes the mask: `computeMask` returns null.
 * The gradient goes to the arg-max of the unmasked steps (split evenly among ties).
 *
 * The mask is `[batch, steps]` (Keras's convention) or, for a channels-last input, `x`'s full shape.
 */
export class GlobalMaxPooling1D extends MaskedGlobalPooling1D {
  /** @nocollapse */
  static className = 'GlobalMaxPooling1D';

  constructor(args: GlobalMaxPooling1DLayerArgs = {}) {
    super(args, MAX_POOLING);
  }
}

/**
 * Global max pooling over steps, mask-aware (see {@link GlobalMaxPooling1D}).
 *
 * ```js
 * const model = tf.sequential({layers: [
 *   tf.layers.embedding({inputDim: 100, outputDim: 16, maskZero: true}),
 *   globalMaxPooling1d(),
 *   tf.layers.dense({units: 1}),
 * ]});
 * ```
 */
export function globalMaxPooling1d(args?: GlobalMaxPooling1DLayerArgs): GlobalMaxPooling1D {
  return new GlobalMaxPooling1D(args);
}
