// A conformance case's float64 references: core's referenceMaskedReduce and its gradients called
// with the case's own values, shapes, axis and keepDims, so that every suite (core's, each
// backend's texture or heap checks) and the demo's matrix ask for a case's expected output in one
// way and the long argument lists live here alone.
import {
  type ReferenceName,
  type ReferenceResult,
  referenceMaskedReduce,
  referenceMaskedReduceGrad,
  referenceMaskedReduceGradScales,
} from '../reference/masked_reduce.js';
import type { ConformanceCase } from './cases.js';

/** The case's axis as the references take it: every axis listed, none negative. */
export const normaliseAxis = (c: ConformanceCase): number[] => {
  const rank = c.xShape.length;
  const raw =
    c.axis === undefined ? [...Array(c.maskShape.length).keys()] : ([] as number[]).concat(c.axis);
  return raw.map((a) => (a < 0 ? a + rank : a));
};

/** Values a reference may be taken over instead of the case's own (e.g. a mask as a GPU stored it). */
export interface ReferenceInputs {
  /** The mask, in the case's mask shape. */
  mask?: ArrayLike<number | boolean>;
  /** The cotangent, in the output's shape (gradients only). */
  dy?: ArrayLike<number>;
}

/** Output `output` of `reducer` (0 unless the op has several, as moments) on case `c`. */
export function caseReference(
  reducer: ReferenceName,
  c: ConformanceCase,
  output = 0,
  { mask = c.mask }: ReferenceInputs = {},
): ReferenceResult {
  const x = Float32Array.from(c.x);
  return referenceMaskedReduce(
    reducer,
    x,
    c.xShape,
    mask,
    c.maskShape,
    normaliseAxis(c),
    c.keepDims,
    output,
  );
}

/** dx of output `output` on case `c`, for the case's cotangent unless another is given. */
export function caseGradReference(
  reducer: ReferenceName,
  c: ConformanceCase,
  output = 0,
  inputs: ReferenceInputs = {},
): Float64Array {
  return gradientOf(referenceMaskedReduceGrad, reducer, c, output, inputs);
}

/** The scale of each dx of caseGradReference, which the tolerance of a gradient is relative to. */
export function caseGradScales(
  reducer: ReferenceName,
  c: ConformanceCase,
  output = 0,
  inputs: ReferenceInputs = {},
): Float64Array {
  return gradientOf(referenceMaskedReduceGradScales, reducer, c, output, inputs);
}

function gradientOf(
  reference: typeof referenceMaskedReduceGrad,
  reducer: ReferenceName,
  c: ConformanceCase,
  output: number,
  { mask = c.mask, dy = c.dy }: ReferenceInputs,
): Float64Array {
  const x = Float32Array.from(c.x);
  return reference(reducer, x, dy, c.xShape, mask, c.maskShape, normaliseAxis(c), output);
}
