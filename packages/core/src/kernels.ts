import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MaskedReduceAttrs, MaskedReduceGradAttrs } from './ops/table.js';

/**
 * The kernel contract of docs/SPEC.md, shared by every row of the op table. The op normalises
 * every input before `runKernel` (float32 x, bool mask, sorted unique axes, dy and y reshaped to
 * the keepDims layout), so a kernel never re-validates.
 */

/** `x`: float32. `mask`: bool whose shape is the leading `mask.shape.length` dims of x. */
export type MaskedReduceInputs = { x: TensorInfo; mask: TensorInfo };

/**
 * `dy`: float32 in the forward output's shape *with keepDims = true*; `mask`: bool. Present only
 * for rows whose `gradInputs` name them: `x` (float32, x's shape) and `y` (the forward output,
 * keepDims layout).
 */
export type MaskedReduceGradInputs = {
  dy: TensorInfo;
  mask: TensorInfo;
  x?: TensorInfo;
  y?: TensorInfo;
  /** The cotangent of a second output (moments: d variance), keepDims layout. */
  dy1?: TensorInfo;
};

/** tfjs types attrs as a loose map; these views keep kernels typed without `any`. */
export const asReduceAttrs = (attrs: NamedAttrMap | undefined): MaskedReduceAttrs =>
  attrs as unknown as MaskedReduceAttrs;
export const asReduceGradAttrs = (attrs: NamedAttrMap | undefined): MaskedReduceGradAttrs =>
  attrs as unknown as MaskedReduceGradAttrs;
