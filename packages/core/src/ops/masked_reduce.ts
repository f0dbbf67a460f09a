import {
  cast,
  customGrad,
  engine,
  type GradSaveFunc,
  getBackend,
  getKernel,
  notEqual,
  op,
  scalar,
  Tensor,
  type TensorLike,
  tensor,
  zeros,
} from '@tensorflow/tfjs-core';
import { compositeMaskedReduce } from '../fallback/composite.js';
import { maskedReduceGradient } from '../gradients.js';
import { rectangularShape, show, validateMaskedArgs } from '../validate.js';
import type { MaskedReduceAttrs, MaskedReduction } from './table.js';

/** A masked reduction as users call it; typed like tfjs's own reductions. */
export type MaskedReduceOp = <T extends Tensor = Tensor>(
  x: Tensor | TensorLike,
  mask: Tensor | TensorLike,
  axis?: number | number[],
  keepDims?: boolean,
) => T;

const isTensorLike = (value: unknown): value is TensorLike =>
  typeof value === 'number' ||
  typeof value === 'boolean' ||
  typeof value === 'string' ||
  Array.isArray(value) ||
  ArrayBuffer.isView(value);

/** The argument as a tensor, or an error naming the op and the argument. */
function asTensor(op: string, name: string, value: unknown): Tensor {
  if (value instanceof Tensor) {
    if (value.isDisposed) {
      throw new Error(`${op}: ${name} is disposed (${name}.shape [${value.shape.join(',')}])`);
    }
    return value;
  }
  if (!isTensorLike(value)) {
    throw new Error(
      `${op}: ${name} must be a Tensor or a TensorLike (number, array, typed array), got ${show(value)}`,
    );
  }
  if (Array.isArray(value) && rectangularShape(value) === null) {
    throw new Error(
      `${op}: ${name} is a ragged nested array (its rows differ in length); pass a rectangular array or a Tensor`,
    );
  }
  return tensor(value);
}

/**
 * `mask != 0` (NaN stays valid, as docs/SPEC.md says) with the zero gradient the spec promises for
 * the mask: tfjs has no gradient for NotEqual, so `tf.grads` with respect to a float or int mask
 * would otherwise throw.
 */
const toBoolMask = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
  const mask = inputs[0] as Tensor;
  return {
    value: notEqual(mask, scalar(0, mask.dtype)),
    gradFunc: () => zeros(mask.shape, 'float32'),
  };
}) as (mask: Tensor) => Tensor;

/** The op's normalised inputs: float32 x, bool mask, sorted unique non-negative axes. */
export interface MaskedArgs {
  x: Tensor;
  mask: Tensor;
  axis: number[];
}

/**
 * Validates and normalises the arguments of any op of the family (docs/SPEC.md "Errors"). Runs
 * inside the op's scope, so tensors made here from TensorLikes are disposed on a throw.
 */
export function prepareMaskedArgs(
  op: string,
  x: unknown,
  mask: unknown,
  axis: number | number[] | undefined,
  keepDims: unknown,
): MaskedArgs {
  const $x = asTensor(op, 'x', x);
  const $mask = asTensor(op, 'mask', mask);
  const axes = validateMaskedArgs(op, {
    xShape: $x.shape,
    xDtype: $x.dtype,
    maskShape: $mask.shape,
    maskDtype: $mask.dtype,
    axis,
    keepDims,
  });
  return {
    x: $x.dtype === 'float32' ? $x : cast($x, 'float32'),
    mask: $mask.dtype === 'bool' ? $mask : toBoolMask($mask),
    axis: axes,
  };
}

/**
 * The fallback path: built-in ops forward, and the spec's gradient through customGrad, so
 * training works even where no built-in gradient is registered (tfjs-core alone registers none).
 */
function fallback(spec: MaskedReduction, args: MaskedArgs, keepDims: boolean): Tensor {
  const { axis } = args;
  const withGrad = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
    const [x, mask, save] = inputs as [Tensor, Tensor, GradSaveFunc];
    const value = compositeMaskedReduce(spec.reducer, x, mask, axis, keepDims, spec.emptyValue);
    save([x, mask, value]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ms, ys] = saved as [Tensor, Tensor, Tensor];
        return [
          maskedReduceGradient(spec, dy, ms, axis, keepDims, xs, ys),
          zeros(ms.shape, 'float32'),
        ];
      },
    };
  });
  return withGrad(args.x, args.mask);
}

/** Builds the op of a table row: validate, normalise, then the fused kernel or the fallback. */
export function maskedReduceOp(spec: MaskedReduction): MaskedReduceOp {
  const impl = (
    x: Tensor | TensorLike,
    mask: Tensor | TensorLike,
    axis?: number | number[],
    keepDims = false,
  ): Tensor => {
    const args = prepareMaskedArgs(spec.op, x, mask, axis, keepDims);
    if (getKernel(spec.kernelName, getBackend()) === undefined) {
      return fallback(spec, args, keepDims);
    }
    const attrs: MaskedReduceAttrs = { axis: args.axis, keepDims };
    return engine().runKernel(
      spec.kernelName,
      { x: args.x, mask: args.mask },
      { ...attrs },
    ) as Tensor;
  };
  // op() names the scope after the key (minus the trailing underscore), as tfjs's ops are.
  return op({ [`${spec.op}_`]: impl }) as MaskedReduceOp;
}
