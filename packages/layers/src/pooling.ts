import { type MaskedReduceOp, maskedMax, maskedMean } from '@masked-ops/core';
import {
  any,
  cast,
  max,
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

/*
 * The pooling layers of this package come in pairs that differ only in the reduction: mean
 * (GlobalAveragePooling1D, MaskedMeanPooling) and max (GlobalMaxPooling1D, MaskedMaxPooling). The
 * two bases below hold everything else (shapes, data formats, mask checks, the output mask,
 * config); a concrete layer is a class name plus a `PoolingReduction`.
 */

/** What a pooling layer reduces with: the masked op of @masked-ops/core and tfjs's unmasked one. */
export interface PoolingReduction {
  /** With a mask: over the valid elements only; an all-masked slice gives the op's empty value. */
  readonly masked: MaskedReduceOp;
  /** Without a mask: tfjs's own reduction, so an unmasked model computes exactly what tfjs does. */
  readonly unmasked: (x: Tensor, axis: number | number[], keepDims: boolean) => Tensor;
}

export const MEAN_POOLING: PoolingReduction = { masked: maskedMean, unmasked: mean };
export const MAX_POOLING: PoolingReduction = { masked: maskedMax, unmasked: max };

/** The single input shape of `computeOutputShape`'s argument. */
function oneShape(inputShape: Shape | Shape[], layer: string): Shape {
  return (
    Array.isArray(inputShape[0]) ? exactlyOne(inputShape as Shape[], 'input', layer) : inputShape
  ) as Shape;
}

// ---------------------------------------------------------------------------------------------
// Global pooling over the steps of a 3-D input (GlobalAveragePooling1D, GlobalMaxPooling1D).

export interface GlobalPooling1DLayerArgs extends LayerArgs {
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
 * The shared body of the mask-aware global 1-D pooling layers: a drop-in replacement for
 * tfjs-layers' layer of the same `className`, with the config keys of tfjs and Keras. With a mask
 * (`[batch, steps]`, or x's full shape for channels-last input) it reduces over the unmasked steps
 * only; without one it is tfjs's reduction over the steps axis. It consumes the mask.
 */
export abstract class MaskedGlobalPooling1D extends layers.Layer {
  readonly dataFormat: DataFormat;
  readonly keepDims: boolean;
  private readonly reduction: PoolingReduction;

  constructor(args: GlobalPooling1DLayerArgs, reduction: PoolingReduction) {
    super(args);
    this.reduction = reduction;
    this.dataFormat = normalizeDataFormat(args.dataFormat, this.getClassName());
    this.keepDims = args.keepDims ?? args.keepdims ?? false;
    this.inputSpec = [new InputSpec({ ndim: 3 })];
    this.supportsMasking = true;
  }

  private get stepsAxis(): 1 | 2 {
    return this.dataFormat === 'channelsLast' ? 1 : 2;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape, this.name);
    if (shape.length !== 3) {
      throw new Error(
        `${this.name}: ${this.getClassName()} expects a 3-D input, got shape ${shapeString(shape)}`,
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
    const { masked, unmasked } = this.reduction;
    return tidy(() => {
      if (mask == null) return unmasked(x, this.stepsAxis, this.keepDims);
      this.checkMask(x, mask);
      if (this.dataFormat === 'channelsLast') return masked(x, mask, 1, this.keepDims);
      // channelsFirst: the masked ops want the mask over x's leading dims, so move steps forward.
      const [batch, features] = x.shape as [number, number, number];
      const y = masked(transpose(x, [0, 2, 1]), mask, 1, this.keepDims);
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

// ---------------------------------------------------------------------------------------------
// Pooling over configurable axes (MaskedMeanPooling, MaskedMaxPooling).

export interface AxisPoolingLayerArgs extends LayerArgs {
  /**
   * Axis or axes to reduce over, counted on the full input shape including the batch axis
   * (negative values count from the end). Default 1 (the steps axis of `[batch, steps, ...]`).
   * The batch axis itself cannot be reduced.
   */
  axis?: number | number[];
  /** Keep the reduced axes as size 1. Default false. */
  keepDims?: boolean;
}

const isInteger = (a: unknown): a is number => typeof a === 'number' && Number.isInteger(a);

/**
 * The shared body of the pooling layers over configurable axes. With a mask (whose shape must be
 * the leading dims of the input, the Keras convention) the reduction runs over the valid elements
 * only, and every reduced axis must be one of the mask's axes; without a mask it is tfjs's
 * reduction. Output mask: null when the reduction covers every non-batch mask axis; otherwise the
 * mask reduced with `any` over the reduced axes (a position stays valid if anything under it was).
 */
export abstract class MaskedAxisPooling extends layers.Layer {
  /** As configured (possibly negative); normalised per input rank in `axesFor`. */
  readonly axis: number[];
  readonly keepDims: boolean;
  private readonly reduction: PoolingReduction;

  constructor(args: AxisPoolingLayerArgs, reduction: PoolingReduction) {
    super(args);
    this.reduction = reduction;
    const axis = args.axis ?? 1;
    const list = Array.isArray(axis) ? [...axis] : [axis];
    if (list.length === 0 || !list.every(isInteger)) {
      throw new Error(
        `${this.getClassName()}: axis must be an integer or a non-empty array of integers, got ${JSON.stringify(axis)}`,
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
    const shape = oneShape(inputShape, this.name);
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
    const { masked, unmasked } = this.reduction;
    return tidy(() => {
      if (mask == null) return unmasked(x, axes, this.keepDims);
      this.checkMask(x, mask, axes);
      return masked(x, mask, axes, this.keepDims);
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
