import {
  cast,
  customGrad,
  engine,
  type GradSaveFunc,
  getBackend,
  getKernel,
  op,
  Tensor,
  type TensorLike,
  tensor,
  zeros,
} from '@tensorflow/tfjs-core';
import { compositeMaskedReduce } from '../fallback/composite.js';
import { nonZero } from '../fallback/non_zero.js';
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

/** Every number of a (nested) array is an integer. */
const allIntegers = (value: unknown): boolean =>
  Array.isArray(value) ? value.every(allIntegers) : Number.isInteger(value);

/**
 * The argument as a tensor, or an error naming the op and the argument. `ints`: an array or
 * number of integers becomes int32 (tfjs would make it float32), as ids are; anything else keeps
 * tfjs's inferred dtype, for validation to reject by name.
 */
export function asTensor(op: string, name: string, value: unknown, ints = false): Tensor {
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
  const integral =
    ints && (typeof value === 'number' || Array.isArray(value)) && allIntegers(value);
  return integral ? tensor(value, undefined, 'int32') : tensor(value);
}

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
    mask: $mask.dtype === 'bool' ? $mask : nonZero($mask),
    axis: axes,
  };
}

/**
 * The fallback path: built-in ops forward, and the spec's gradient through customGrad, so
 * training works even where no built-in gradient is registered (tfjs-core alone registers none).
 * customGrad allows one output, so a several-output row (moments) gets one per output; the
 * gradients of both reach x and add up.
 */
function fallback(spec: MaskedReduction, args: MaskedArgs, keepDims: boolean): Tensor[] {
  const { axis } = args;
  return spec.outputs.map((_, output) => {
    const withGrad = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
      const [x, mask, save] = inputs as [Tensor, Tensor, GradSaveFunc];
      const empty = spec.emptyValues[output]!;
      const value = compositeMaskedReduce(spec.reducer, x, mask, axis, keepDims, empty, output);
      // The gradient reads the first output as y (the mean, for moments): one more composite for
      // a later output, only where the row's gradient needs it.
      const y =
        output === 0 || !spec.gradInputs.includes('y')
          ? value
          : compositeMaskedReduce(spec.reducer, x, mask, axis, keepDims, spec.emptyValue);
      save([x, mask, y]);
      return {
        value,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [xs, ms, ys] = saved as [Tensor, Tensor, Tensor];
          const dys: Tensor[] = [];
          dys[output] = dy;
          return [
            maskedReduceGradient(spec, dys, ms, axis, keepDims, xs, ys),
            zeros(ms.shape, 'float32'),
          ];
        },
      };
    });
    return withGrad(args.x, args.mask);
  });
}

/** Validate, normalise, then the fused kernel or the fallback: the op's outputs in table order. */
function runMaskedReduce(
  spec: MaskedReduction,
  x: unknown,
  mask: unknown,
  axis: number | number[] | undefined,
  keepDims: unknown,
): Tensor[] {
  const args = prepareMaskedArgs(spec.op, x, mask, axis, keepDims);
  const keep = keepDims as boolean;
  if (getKernel(spec.kernelName, getBackend()) === undefined) return fallback(spec, args, keep);
  const attrs: MaskedReduceAttrs = { axis: args.axis, keepDims: keep };
  const out = engine().runKernel(spec.kernelName, { x: args.x, mask: args.mask }, { ...attrs });
  return Array.isArray(out) ? out : [out as Tensor];
}

/** Builds the op of a one-output table row. */
export function maskedReduceOp(spec: MaskedReduction): MaskedReduceOp {
  const impl = (
    x: Tensor | TensorLike,
    mask: Tensor | TensorLike,
    axis?: number | number[],
    keepDims = false,
  ): Tensor => runMaskedReduce(spec, x, mask, axis, keepDims)[0]!;
  // op() names the scope after the key (minus the trailing underscore), as tfjs's ops are.
  return op({ [`${spec.op}_`]: impl }) as MaskedReduceOp;
}

/** A several-output masked reduction (moments): its outputs keyed by the table row's names. */
export type MaskedMultiOp<K extends string> = (
  x: Tensor | TensorLike,
  mask: Tensor | TensorLike,
  axis?: number | number[],
  keepDims?: boolean,
) => Record<K, Tensor>;

/** Builds the op of a several-output table row; `K` names its outputs (the row's `outputs`). */
export function maskedMultiOp<K extends string>(spec: MaskedReduction): MaskedMultiOp<K> {
  const impl = (
    x: Tensor | TensorLike,
    mask: Tensor | TensorLike,
    axis?: number | number[],
    keepDims = false,
  ): Record<K, Tensor> => {
    const outs = runMaskedReduce(spec, x, mask, axis, keepDims);
    return Object.fromEntries(spec.outputs.map((name, i) => [name, outs[i]!])) as Record<K, Tensor>;
  };
  return op({ [`${spec.op}_`]: impl }) as MaskedMultiOp<K>;
}
