import type { DataType } from '@tensorflow/tfjs-core';
import { fmt, MASK_DTYPES, show, X_DTYPES } from '../validate.js';

export interface SoftmaxArgInfo {
  logitsShape: readonly number[];
  logitsDtype: DataType;
  maskShape: readonly number[];
  maskDtype: DataType;
  axis: unknown;
}

/**
 * Checks the arguments of a masked softmax (docs/SPEC.md "Masked softmax") and returns the
 * normalised axis. The mask must broadcast *to* the logits (NumPy rules, aligned from the right:
 * each mask dim 1 or the logits' dim); a mask that would enlarge the output is an error, not a
 * broadcast of the logits.
 */
export function validateSoftmaxArgs(op: string, info: SoftmaxArgInfo): number {
  const { logitsShape, logitsDtype, maskShape, maskDtype, axis } = info;
  // The shapes are formatted only when a call fails: this runs on every call.
  const fail = (message: string): never => {
    throw new Error(
      `${op}: ${message} (logits.shape ${fmt(logitsShape)}, mask.shape ${fmt(maskShape)})`,
    );
  };
  if (!X_DTYPES.includes(logitsDtype)) {
    fail(`logits must be float32 or int32, got dtype ${logitsDtype}`);
  }
  if (!MASK_DTYPES.includes(maskDtype)) {
    fail(`mask must be bool, int32 or float32, got dtype ${maskDtype}`);
  }
  const rank = logitsShape.length;
  if (rank === 0) fail('logits must have rank >= 1, got a scalar');
  if (maskShape.length > rank) {
    fail(
      `mask has rank ${maskShape.length}, more than the logits' ${rank}: it must broadcast to the logits`,
    );
  }
  const lead = rank - maskShape.length;
  maskShape.forEach((d, i) => {
    const want = logitsShape[lead + i]!;
    if (d !== 1 && d !== want) {
      fail(
        `mask.shape does not broadcast to logits.shape: mask dim ${i} is ${d}, logits dim ${lead + i} is ${want} (each mask dim, aligned from the right, must be 1 or equal the logits')`,
      );
    }
  });
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    fail(`axis must be an integer, got ${show(axis)}`);
  }
  const a = axis as number;
  if (a < -rank || a >= rank) {
    fail(`axis ${a} is out of range for logits of rank ${rank} (valid: ${-rank}..${rank - 1})`);
  }
  return a < 0 ? a + rank : a;
}
