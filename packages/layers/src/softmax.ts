import { maskedSoftmax } from '@masked-ops/core';
import {
  exp,
  logSumExp,
  reshape,
  type serialization,
  softmax,
  sub,
  type Tensor,
  tidy,
  transpose,
} from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { assertOwnTensor } from './one_copy.js';
import { type Kwargs, type LayerArgs, NO_MASK, oneMask, type Shape, shapeString } from './types.js';

export interface SoftmaxLayerArgs extends LayerArgs {
  /**
   * Axis (or axes) along which the softmax normalises, counted on the full input shape including
   * the batch axis; negative values count from the end. Default -1, the last axis (Keras's
   * default, and what tfjs documents; tfjs's code defaults to 1, which is the same axis for the
   * rank-2 inputs where tfjs's default works at all). Several axes work only without a mask.
   */
  axis?: number | number[];
}

const isInteger = (a: unknown): a is number => typeof a === 'number' && Number.isInteger(a);

/**
 * A softmax activation layer **with mask support**: a drop-in replacement for tfjs-layers'
 * `Softmax` (same `className`, same config key `axis` as tfjs and Keras) whose masked positions
 * get exactly 0 probability, through `maskedSoftmax` of @masked-ops/core. (tfjs and Keras add -1e9
 * to masked logits instead: tiny but non-zero probabilities, NaN/Inf at padding leaking in, and a
 * uniform distribution over a fully masked row.)
 *
 * Two sources of mask, in this order of precedence:
 * 1. **An explicit mask input**, `layer.apply([logits, mask])`: broadcast against the logits by
 *    NumPy rules exactly as `maskedSoftmax` does (trailing axes aligned): a key-padding mask
 *    `[batch, 1, keys]` for attention logits `[batch, queries, keys]` (`[batch, 1, 1, keys]` for
 *    `[batch, heads, queries, keys]`), a causal `[queries, keys]`, or the full shape. Non-zero =
 *    valid. It replaces the incoming Keras mask (the two are not combined: AND them yourself).
 * 2. Otherwise **the incoming Keras mask** (from `Embedding({maskZero: true})`, `Masking`, ... via
 *    `kwargs.mask`). A Keras mask marks timesteps: its shape is the *leading* dims of the input
 *    (`[batch, steps]` for `[batch, steps, ...]`), so it is extended with trailing 1s, not
 *    NumPy-aligned from the right. Per-timestep class scores `[batch, steps, classes]` (softmax
 *    over the classes) give an all-zero row at each padding step; scores `[batch, steps]` or
 *    `[batch, steps, 1]` normalised over the steps (`axis: 1`, attention pooling) give 0 at the
 *    padding steps. For attention logits `[batch, queries, keys]` a sequence's Keras mask marks the
 *    padded **queries** (their rows come out all zeros), not the padded keys: mask keys with an
 *    explicit `[batch, 1, keys]` mask input. (Keras's own `Softmax` adds the mask to the logits as
 *    is, NumPy-aligned, which is only right when the mask has the logits' full shape; tfjs does
 *    the same, so a `[batch, steps]` mask over `[batch, steps, classes]` logits masks classes.)
 *
 * A row with no valid position is all zeros. Without any mask the layer is tfjs's `Softmax`
 * (`tf.softmax`; for several axes `exp(x - logSumExp(x, axis))`), except that a single non-last
 * axis, which tfjs rejects, works (the axis is moved last and back).
 *
 * The output mask is the incoming Keras mask of the logits, passed through (Keras's `Softmax`
 * supports masking); an explicit mask input does not become the output mask.
 */
export class Softmax extends layers.Layer {
  /** @nocollapse */
  static className = 'Softmax';

  /** As configured (possibly negative); normalised per input rank in `axesFor`. */
  readonly axis: number | number[];

  constructor(args: SoftmaxLayerArgs = {}) {
    super(args);
    const axis = args.axis ?? -1;
    const ok = Array.isArray(axis) ? axis.length > 0 && axis.every(isInteger) : isInteger(axis);
    if (!ok) {
      throw new Error(
        `Softmax: axis must be an integer or a non-empty array of integers, got ${JSON.stringify(axis)}`,
      );
    }
    this.axis = Array.isArray(axis) ? [...axis] : axis;
    this.supportsMasking = true;
  }

  /** The configured axes normalised for an input of rank `rank`. */
  axesFor(rank: number): number[] {
    const list = Array.isArray(this.axis) ? this.axis : [this.axis];
    const axes = list.map((a) => (a < 0 ? a + rank : a));
    axes.forEach((a, i) => {
      if (a < 0 || a >= rank) {
        throw new Error(
          `${this.name}: axis ${list[i]} is out of range for an input of rank ${rank}`,
        );
      }
    });
    if (new Set(axes).size !== axes.length) {
      throw new Error(`${this.name}: axis ${JSON.stringify(this.axis)} repeats an axis`);
    }
    return axes;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    // With a mask input the output has the logits' (first input's) shape.
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length !== 1 && list.length !== 2) {
      throw new Error(
        `${this.name}: expected the logits or [logits, mask], got ${list.length} inputs`,
      );
    }
    const [x, explicit] = list as [Tensor, Tensor | undefined];
    assertOwnTensor(x, this.name);
    if (explicit !== undefined) assertOwnTensor(explicit, this.name);
    // With several inputs tfjs passes one mask per input (or only the first's): the logits' is first.
    const kerasMask = oneMask(kwargs?.['mask'] as Tensor | Tensor[] | null | undefined);
    const axes = this.axesFor(x.rank);
    return tidy(() => {
      if (explicit !== undefined) return maskedSoftmax(x, explicit, this.maskedAxis(axes));
      if (kerasMask != null) {
        return maskedSoftmax(x, this.trailingOnes(x, kerasMask), this.maskedAxis(axes));
      }
      return this.unmasked(x, axes);
    });
  }

  /** What tfjs's Softmax computes (it would reject a single non-last axis; that one works here). */
  private unmasked(x: Tensor, axes: number[]): Tensor {
    if (axes.length > 1) return exp(sub(x, logSumExp(x, axes, true)));
    const axis = axes[0]!;
    if (axis === x.rank - 1) return softmax(x);
    // tf.softmax works on the last axis only: move `axis` last, then back (`back` inverts `perm`).
    const perm = [...Array(x.rank).keys()].filter((d) => d !== axis).concat(axis);
    const back = perm.map((_, i) => perm.indexOf(i));
    return transpose(softmax(transpose(x, perm)), back);
  }

  private maskedAxis(axes: number[]): number {
    if (axes.length !== 1) {
      throw new Error(
        `${this.name}: with a mask the softmax runs along one axis (maskedSoftmax), got axis ${JSON.stringify(this.axis)}`,
      );
    }
    return axes[0]!;
  }

  /**
   * The Keras mask over the logits' leading dims, extended with trailing 1s so that `maskedSoftmax`
   * (NumPy rules) broadcasts it over the remaining axes (a reshape: no copy).
   */
  private trailingOnes(x: Tensor, mask: Tensor): Tensor {
    const leading = mask.rank >= 1 && mask.rank <= x.rank;
    if (!leading || !mask.shape.every((d, i) => d === x.shape[i])) {
      throw new Error(
        `${this.name}: the incoming mask's shape must be the leading dims of the input's (Keras's` +
          ` convention, e.g. [batch, steps]); got mask ${shapeString(mask.shape)} for input` +
          ` ${shapeString(x.shape)}. To broadcast a mask by NumPy rules (e.g. key padding` +
          ' [batch, 1, keys]), pass it as a second input: apply([logits, mask]). (In' +
          ' predict/fit, tfjs-layers 4.x hands a layer the last mask any earlier layer received' +
          ' when its own input has none, e.g. after a pooling layer that consumed the mask; a' +
          " Dense with activation 'softmax' avoids that.)",
      );
    }
    if (mask.rank === x.rank) return mask;
    return reshape(mask, [...mask.shape, ...new Array<number>(x.rank - mask.rank).fill(1)]);
  }

  /** The logits' incoming mask, passed through (an explicit mask input is not an output mask). */
  override computeMask(_inputs: Tensor | Tensor[], mask?: Tensor | Tensor[]): Tensor {
    return oneMask(mask) ?? NO_MASK;
  }

  /** `axis` (the key tfjs and Keras both use) plus tfjs's base keys. */
  override getConfig(): serialization.ConfigDict {
    const axis = Array.isArray(this.axis) ? [...this.axis] : this.axis;
    return { axis, ...super.getConfig() };
  }
}

/**
 * A mask-aware softmax activation layer (see {@link Softmax}).
 *
 * ```js
 * const model = tf.sequential({layers: [
 *   tf.layers.embedding({inputDim: 100, outputDim: 16, maskZero: true, inputShape: [20]}),
 *   tf.layers.dense({units: 5}),
 *   softmaxLayer(), // per-token class probabilities; padding tokens get all-zero rows
 * ]});
 * ```
 */
export function softmaxLayer(args?: SoftmaxLayerArgs): Softmax {
  return new Softmax(args);
}
