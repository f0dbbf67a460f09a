import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The kernel contract of SPEC.md. Backend plugins register kernels under these names; the op
 * normalises every input before `runKernel`, so a kernel never re-validates.
 */
export const MaskedMean = 'MaskedMean';
export const MaskedMeanGrad = 'MaskedMeanGrad';

/** `x`: float32. `mask`: bool whose shape is the leading `mask.shape.length` dims of x. */
export type MaskedMeanInputs = { x: TensorInfo; mask: TensorInfo };

export interface MaskedMeanAttrs {
  /** Sorted, unique, non-negative, each < mask rank. */
  axis: number[];
  keepDims: boolean;
}

/** `dy`: float32 in the forward output's shape *with keepDims = true*. `mask`: bool. */
export type MaskedMeanGradInputs = { dy: TensorInfo; mask: TensorInfo };

export interface MaskedMeanGradAttrs {
  /** As in {@link MaskedMeanAttrs}. */
  axis: number[];
  /** The shape of x, which is also the shape of the kernel's output dx. */
  xShape: number[];
}

/** tfjs types attrs as a loose map; these views keep kernels typed without `any`. */
export const asMaskedMeanAttrs = (attrs: NamedAttrMap | undefined): MaskedMeanAttrs =>
  attrs as unknown as MaskedMeanAttrs;
export const asMaskedMeanGradAttrs = (attrs: NamedAttrMap | undefined): MaskedMeanGradAttrs =>
  attrs as unknown as MaskedMeanGradAttrs;
