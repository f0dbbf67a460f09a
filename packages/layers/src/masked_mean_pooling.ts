import { maskedMean } from '@masked-ops/core';
import { any, cast, mean, type serialization, type Tensor, tidy } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { assertOwnTensor } from './one_copy.js';
import {
  exactlyOne,
  type Kwargs,
  type LayerArgs,
  NO_MASK,
  oneMask,
  type Shape,
  shapeString,
} from './types.js';

export interface MaskedMeanPoolingLayerArgs extends LayerArgs {
  /**
   * Axis or axes to average over, counted on the full input shape including the batch axis
   * (negative values count from the end). Default 1 (the steps axis of `[batch, steps, ...]`).
   * The batch axis itself cannot be reduced.
   */
  axis?: number | number[];
  /** Keep the reduced axes as size 1. Default false. */
  keepDims?: boolean;
}

const isInteger = (a: unknown): a is number => typeof a === 'number' && Number.isInteger(a);

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
export class MaskedMeanPooling extends layers.Layer {
  /** @nocollapse */
  static className = 'MaskedMeanPooling';

  /** As configured (possibly negative); normalised per input rank in `axesFor`. */
  readonly axis: number[];
  readonly keepDims: boolean;

  constructor(args: MaskedMeanPoolingLayerArgs = {}) {
    super(args);
    const axis = args.axis ?? 1;
    const list = Array.isArray(axis) ? [...axis] : [axis];
    if (list.length === 0 || !list.every(isInteger)) {
      throw new Error(
        `MaskedMeanPooling: axis must be an integer or a non-empty array of integers, got ${JSON.stringify(axis)}`,
      );
    }
    this.axis = list;
    this.keepDims = args.keepDims ?? false;
    this.supportsMasking = true;
  }

  /** The configured axes normalised for an input of rank `rank`, sorted. */
  axesFor(rank: number): number[] {
    const axes = this.axis.map((a) => (a < 0 ? a + rank : a));
    for (const [i, a] of axes.entries()) {
      if (a < 0 || a >= rank) {
        throw new Error(
          `${this.name}: axis ${this.axis[i]} is out of range for an input of rank ${rank}`,
        );
      }
      if (a === 0) {
        throw new Error(
          `${this.name}: axis ${this.axis[i]} is the batch axis, which cannot be reduced`,
        );
      }
    }
    if (new Set(axes).size !== axes.length) {
      throw new Error(`${this.name}: axis ${JSON.stringify(this.axis)} repeats an axis`);
    }
    return axes.sort((p, q) => p - q);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (
      Array.isArray(inputShape[0])
        ? exactlyOne(inputShape as Shape[], 'input', this.name)
        : inputShape
    ) as Shape;
    const axes = this.axesFor(shape.length);
    return this.keepDims
      ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : shape.filter((_, i) => !axes.includes(i));
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const x = exactlyOne(inputs, 'input tensor', this.name);
    assertOwnTensor(x, this.name);
    const mask = oneMask(kwargs?.['mask'] as Tensor | Tensor[] | null | undefined);
    const axes = this.axesFor(x.rank);
    return tidy(() => {
      if (mask == null) return mean(x, axes, this.keepDims);
      this.checkMask(x, mask, axes);
      return maskedMean(x, mask, axes, this.keepDims);
    });
  }

  private checkMask(x: Tensor, mask: Tensor, axes: number[]): void {
    const leading = mask.rank <= x.rank && mask.shape.every((d, i) => d === x.shape[i]);
    if (!leading || mask.rank < 1) {
      throw new Error(
        `${this.name}: the mask's shape must be the leading dims of the input's;` +
          ` got mask ${shapeString(mask.shape)} for input ${shapeString(x.shape)}`,
      );
    }
    const outside = axes.filter((a) => a >= mask.rank);
    if (outside.length > 0) {
      throw new Error(
        `${this.name}: axis ${outside.join(', ')} is not covered by the mask of shape` +
          ` ${shapeString(mask.shape)} (input ${shapeString(x.shape)}); with a mask, every reduced` +
          ` axis must be one of the mask's axes`,
      );
    }
  }

  override computeMask(inputs: Tensor | Tensor[], mask?: Tensor | Tensor[]): Tensor {
    const m = oneMask(mask);
    if (m == null) return NO_MASK;
    const x = exactlyOne(inputs, 'input tensor', this.name);
    const axes = this.axesFor(x.rank).filter((a) => a < m.rank);
    // Every non-batch mask axis reduced: nothing left to mask.
    if (axes.length >= m.rank - 1) return NO_MASK;
    if (axes.length === 0) return m.dtype === 'bool' ? m.clone() : cast(m, 'bool');
    return tidy(() => any(cast(m, 'bool'), axes, this.keepDims));
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), axis: [...this.axis], keepDims: this.keepDims };
  }
}

/** Masked mean over `axis` (see {@link MaskedMeanPooling}). */
export function maskedMeanPooling(args?: MaskedMeanPoolingLayerArgs): MaskedMeanPooling {
  return new MaskedMeanPooling(args);
}
