import type { DataType } from '@tensorflow/tfjs-core';

/** The dtypes an op accepts for its values (int32 is cast to float32) and for its mask. */
export const X_DTYPES: readonly DataType[] = ['float32', 'int32'];
export const MASK_DTYPES: readonly DataType[] = ['bool', 'int32', 'float32'];

/** A shape as the error messages print it. */
export const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** What an op knows about its arguments before any kernel runs. */
export interface MaskedArgInfo {
  xShape: readonly number[];
  xDtype: DataType;
  maskShape: readonly number[];
  maskDtype: DataType;
  axis: number | readonly number[] | undefined;
  keepDims: unknown;
}

/** A printable form of any argument (JSON.stringify throws on a BigInt, and maps NaN to null). */
export const show = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(show).join(',')}]`
    : typeof value === 'bigint'
      ? `${value}n`
      : typeof value === 'string'
        ? JSON.stringify(value)
        : value !== null && typeof value === 'object'
          ? `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
          : String(value);

/**
 * The shape of a nested array if it is rectangular, else null. tfjs's `tensor()` infers a shape
 * from the first element of each level and accepts ragged arrays silently (`[[1,2],[3]]` becomes
 * a [2,2] tensor with garbage or a RangeError depending on the backend).
 */
export function rectangularShape(value: unknown): number[] | null {
  if (!Array.isArray(value)) return [];
  const inner = value.length === 0 ? [] : rectangularShape(value[0]);
  if (inner === null) return null;
  for (let i = 1; i < value.length; i++) {
    const s = rectangularShape(value[i]);
    if (s === null || s.length !== inner.length || s.some((d, j) => d !== inner[j])) return null;
  }
  return [value.length, ...inner];
}

/**
 * Checks every rule of docs/SPEC.md "Errors" for the op `op` and returns the normalised axes
 * (sorted, unique, non-negative, each < mask rank). Every message starts with the op's name and
 * names the argument and the shapes, because the usual cause of a bad call is a mask built for a
 * different layout than x.
 */
export function validateMaskedArgs(op: string, info: MaskedArgInfo): number[] {
  const { xShape, xDtype, maskShape, maskDtype, axis, keepDims } = info;
  // The shapes are formatted only when a call fails: this runs on every call.
  const fail = (message: string): never => {
    throw new Error(`${op}: ${message} (x.shape ${fmt(xShape)}, mask.shape ${fmt(maskShape)})`);
  };

  if (!X_DTYPES.includes(xDtype)) {
    fail(`x must be float32 or int32, got dtype ${xDtype}`);
  }
  if (!MASK_DTYPES.includes(maskDtype)) {
    fail(`mask must be bool, int32 or float32, got dtype ${maskDtype}`);
  }
  const rank = xShape.length;
  if (rank === 0) {
    fail('x must have rank >= 1, got a scalar');
  }
  const k = maskShape.length;
  const leading = xShape.slice(0, k);
  if (k === 0 || k > rank || leading.some((d, i) => d !== maskShape[i])) {
    fail(
      k === 0
        ? 'mask must have rank >= 1 and equal the leading dimensions of x, got a scalar mask'
        : `mask.shape must equal the leading dimensions of x (x.shape[0..${k - 1}] = ${
            k > rank ? 'out of range' : fmt(leading)
          }), got ${fmt(maskShape)}`,
    );
  }
  if (typeof keepDims !== 'boolean') {
    fail(`keepDims must be a boolean, got ${show(keepDims)}`);
  }

  const requested = axis === undefined ? [...Array(k).keys()] : Array.isArray(axis) ? axis : [axis];
  const normalised: number[] = [];
  for (const a of requested) {
    if (typeof a !== 'number' || !Number.isInteger(a)) {
      fail(`axis must be an integer or an array of integers, got ${show(axis)}`);
    }
    if (a < -rank || a >= rank) {
      fail(`axis ${a} is out of range for x of rank ${rank} (valid: ${-rank}..${rank - 1})`);
    }
    const n = a < 0 ? a + rank : a;
    if (n >= k) {
      fail(
        `axis ${a} is not a mask dimension: the mask covers x's axes 0..${k - 1}, so every reduced axis must be one of them`,
      );
    }
    if (normalised.includes(n)) {
      fail(`axis ${show(axis)} repeats axis ${n}`);
    }
    normalised.push(n);
  }
  return normalised.sort((p, q) => p - q);
}
