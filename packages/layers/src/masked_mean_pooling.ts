import { type AxisPoolingLayerArgs, MaskedAxisPooling, MEAN_POOLING } from './pooling.js';

export type MaskedMeanPoolingLayerArgs = AxisPoolingLayerArgs;

/**
 * Mean over configurable axes, honouring an incoming mask: the general form of
 * {@link GlobalAveragePooling1D} for other layouts (e.g. `[batch, sentences, words, features]`
 * with a `[batch, sentences, words]` mask, averaged over `axis: [1, 2]`).
 *
 * With a mask (whose shape must be the leading dims of the input, the Keras convention) the mean
 * runs over the valid elements only (`maskedMean`: masked NaN/Inf never leak, an all-masked
 * position gives 0), and every reduced axis must be one of the mask's axes. Without a mask it is
 * `tf.mean(x, axis, keepDims)`.
 *
 * Output mask: null when the reduction covers every non-batch mask axis; otherwise the mask
 * reduced with `any` over the reduced axes (a position stays valid if anything under it was).
 */
export class MaskedMeanPooling extends MaskedAxisPooling {
  /** @nocollapse */
  static className = 'MaskedMeanPooling';

  constructor(args: MaskedMeanPoolingLayerArgs = {}) {
    super(args, MEAN_POOLING);
  }
}

/** Masked mean over `axis` (see {@link MaskedMeanPooling}). */
export function maskedMeanPooling(args?: MaskedMeanPoolingLayerArgs): MaskedMeanPooling {
  return new MaskedMeanPooling(args);
}
