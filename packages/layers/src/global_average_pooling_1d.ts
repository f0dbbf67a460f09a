import { type GlobalPooling1DLayerArgs, MaskedGlobalPooling1D, MEAN_POOLING } from './pooling.js';

export type GlobalAveragePooling1DLayerArgs = GlobalPooling1DLayerArgs;

/**
 * Global average pooling over the steps of a 3-D input, **with mask support**: a drop-in
 * replacement for tfjs-layers' `GlobalAveragePooling1D` (same `className`, same config keys as
 * tfjs and Keras), matching Keras's `GlobalAveragePooling1D`.
 *
 * When the previous layer produces a mask (`Embedding({maskZero: true})`, `Masking`, an RNN with
 * `returnSequences`), the average runs over the unmasked steps only (`maskedMean`); a row whose
 * steps are all masked gives 0 (Keras gives NaN there). Without a mask it is `tf.mean` over the
 * steps axis. The layer consumes the mask: `computeMask` returns null.
 *
 * The mask is `[batch, steps]` (Keras's convention) or, for a channels-last input, `x`'s full shape.
 */
export class GlobalAveragePooling1D extends MaskedGlobalPooling1D {
  /** @nocollapse */
  static className = 'GlobalAveragePooling1D';

  constructor(args: GlobalAveragePooling1DLayerArgs = {}) {
    super(args, MEAN_POOLING);
  }
}

/**
 * Global average pooling over steps, mask-aware (see {@link GlobalAveragePooling1D}).
 *
 * ```js
 * const model = tf.sequential({layers: [
 *   tf.layers.embedding({inputDim: 100, outputDim: 16, maskZero: true}),
 *   globalAveragePooling1d(),
 *   tf.layers.dense({units: 1}),
 * ]});
 * ```
 */
export function globalAveragePooling1d(
  args?: GlobalAveragePooling1DLayerArgs,
): GlobalAveragePooling1D {
  return new GlobalAveragePooling1D(args);
}
