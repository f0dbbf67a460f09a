import { type AxisPoolingLayerArgs, MAX_POOLING, MaskedAxisPooling } from './pooling.js';

export type MaskedMaxPoolingLayerArgs = AxisPoolingLayerArgs;

/**
 * Max over configurable axes, honouring an incoming mask: the general form of
 * {@link GlobalMaxPooling1D} for other layouts (e.g. `[batch, sentences, words, features]` with a
 * `[batch, sentences, words]` mask, max-pooled over `axis: [1, 2]`).
 *
 * With a mask (whose shape must be the leading dims of the input, the Keras convention) the max
 * runs over the valid elements only (`maskedMax`: masked values never win, NaN/Inf there never
 * leak, an all-masked position gives 0), and every reduced axis must be one of the mask's axes.
 * Without a mask it is `tf.max(x, axis, keepDims)`.
 *
 * Output mask: null when the reduction covers every non-batch mask axis; otherwise the mask
 * reduced with `any` over the reduced axes (a position stays valid if anything under it was).
 */
export class MaskedMaxPooling extends MaskedAxisPooling {
  /** @nocollapse */
  static className = 'MaskedMaxPooling';

  constructor(args: MaskedMaxPoolingLayerArgs = {}) {
    super(args, MAX_POOLING);
  }
}

/** Masked max over `axis` (see {@link MaskedMaxPooling}). */
export function maskedMaxPooling(args?: MaskedMaxPoolingLayerArgs): MaskedMaxPooling {
  return new MaskedMaxPooling(args);
}
