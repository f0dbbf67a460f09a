import { maskedMean } from '@masked-ops/core';
import {
  mean,
  reshape,
  type serialization,
  type Tensor,
  tidy,
  transpose,
} from '@tensorflow/tfjs-core';
import { InputSpec, layers } from '@tensorflow/tfjs-layers';
import { assertOwnTensor } from './one_copy.js';
import {
  type DataFormat,
  type DataFormatArg,
  exactlyOne,
  type Kwargs,
  type LayerArgs,
  NO_MASK,
  normalizeDataFormat,
  oneMask,
  type Shape,
  shapeString,
} from './types.js';

export interface GlobalAveragePooling1DLayerArgs extends LayerArgs {
  /**
   * `'channelsLast'` (default): inputs are `[batch, steps, features]`; `'channelsFirst'`: inputs
   * are `[batch, features, steps]`. The Keras spellings `'channels_last'` / `'channels_first'` are
   * accepted too.
   */
  dataFormat?: DataFormatArg;
  /** Keep the steps axis as size 1 (`[batch, 1, features]`, or `[batch, features, 1]`). */
  keepDims?: boolean;
  /** The Keras spelling of `keepDims`, as it appears in a saved / converted model config. */
  keepdims?: boolean;
}

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
export class GlobalAveragePooling1D extends layers.Layer {
  /** @nocollapse */
  static className = 'GlobalAveragePooling1D';

  readonly dataFormat: DataFormat;
  readonly keepDims: boolean;

  constructor(args: GlobalAveragePooling1DLayerArgs = {}) {
    super(args);
    this.dataFormat = normalizeDataFormat(args.dataFormat, 'GlobalAveragePooling1D');
    this.keepDims = args.keepDims ?? args.keepdims ?? false;
    this.inputSpec = [new InputSpec({ ndim: 3 })];
    this.supportsMasking = true;
  }

  private get stepsAxis(): 1 | 2 {
    return this.dataFormat === 'channelsLast' ? 1 : 2;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (
      Array.isArray(inputShape[0])
        ? exactlyOne(inputShape as Shape[], 'input', this.name)
        : inputShape
    ) as Shape;
    if (shape.length !== 3) {
      throw new Error(
        `${this.name}: GlobalAveragePooling1D expects a 3-D input, got shape ${shapeString(shape)}`,
      );
    }
    const [batch, a, b] = shape as [number | null, number | null, number | null];
    if (this.dataFormat === 'channelsLast') return this.keepDims ? [batch, 1, b] : [batch, b];
    return this.keepDims ? [batch, a, 1] : [batch, a];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const x = exactlyOne(inputs, 'input tensor', this.name);
    assertOwnTensor(x, this.name);
    const mask = oneMask(kwargs?.['mask'] as Tensor | Tensor[] | null | undefined);
    return tidy(() => {
      if (mask == null) return mean(x, this.stepsAxis, this.keepDims);
      this.checkMask(x, mask);
      if (this.dataFormat === 'channelsLast') return maskedMean(x, mask, 1, this.keepDims);
      // channelsFirst: maskedMean wants the mask over x's leading dims, so move steps forward.
      const [batch, features] = x.shape as [number, number, number];
      const xt = transpose(x, [0, 2, 1]);
      const y = maskedMean(xt, mask, 1, this.keepDims);
      // [batch, 1, features] -> [batch, features, 1]: same data order, so a reshape suffices.
      return this.keepDims ? reshape(y, [batch, features, 1]) : y;
    });
  }

  private checkMask(x: Tensor, mask: Tensor): void {
    const [batch, d1, d2] = x.shape as [number, number, number];
    const steps = this.dataFormat === 'channelsLast' ? d1 : d2;
    const ok =
      (mask.rank === 2 && mask.shape[0] === batch && mask.shape[1] === steps) ||
      (this.dataFormat === 'channelsLast' &&
        mask.rank === 3 &&
        mask.shape.every((d, i) => d === x.shape[i]));
    if (!ok) {
      throw new Error(
        `${this.name}: the mask must have shape [batch, steps] = ${shapeString([batch, steps])}` +
          ` for an input of shape ${shapeString(x.shape)} (dataFormat ${this.dataFormat}),` +
          ` got ${shapeString(mask.shape)}`,
      );
    }
  }

  /** The mask stops here: the output has no steps axis left to mask. */
  override computeMask(_inputs: Tensor | Tensor[], _mask?: Tensor | Tensor[]): Tensor {
    return NO_MASK;
  }

  /**
   * tfjs's keys (`name`, `trainable`, `dtype`, `batchInputShape` when set) plus Keras's
   * (`data_format`, `keepdims` once snake-cased on save), so a saved model loads in Keras, in
   * stock tfjs (which ignores the extra keys) and here.
   */
  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), dataFormat: this.dataFormat, keepdims: this.keepDims };
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
