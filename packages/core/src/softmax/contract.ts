import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The masked softmaxes' table and kernel contract (docs/SPEC.md "Masked softmax"). Not rows of the
 * reductions' table: the output has the logits' shape and the mask broadcasts (NumPy rules) rather
 * than covering leading dims. Both rows share one kernel family, told apart by `log`: a backend
 * writes one row driver (max, then a sum of exp(x - max), then the normalised row) and one
 * gradient driver.
 */
export interface MaskedSoftmaxRow {
  /** The exported op's name, and the prefix of its error messages. */
  readonly op: string;
  /** Forward kernel: inputs {@link MaskedSoftmaxInputs}, attrs {@link MaskedSoftmaxAttrs}. */
  readonly kernelName: string;
  /** Gradient kernel: inputs {@link MaskedSoftmaxGradInputs}, attrs {@link MaskedSoftmaxAttrs}. */
  readonly gradKernelName: string;
  /** log-softmax: `x - logsumexp` at valid positions, -Infinity at masked ones. */
  readonly log: boolean;
  /** tfjs's unmasked counterpart (the benchmarks' "masking is free" floor). */
  readonly unmasked: 'softmax' | 'logSoftmax';
}

export const MASKED_SOFTMAX: MaskedSoftmaxRow = {
  op: 'maskedSoftmax',
  kernelName: 'MaskedSoftmax',
  gradKernelName: 'MaskedSoftmaxGrad',
  log: false,
  unmasked: 'softmax',
};

export const MASKED_LOG_SOFTMAX: MaskedSoftmaxRow = {
  op: 'maskedLogSoftmax',
  kernelName: 'MaskedLogSoftmax',
  gradKernelName: 'MaskedLogSoftmaxGrad',
  log: true,
  unmasked: 'logSoftmax',
};

/** Both rows, in the order tests, benchmarks and reports list them. */
export const MASKED_SOFTMAXES: readonly MaskedSoftmaxRow[] = [MASKED_SOFTMAX, MASKED_LOG_SOFTMAX];

/**
 * `logits`: float32. `mask`: bool of the logits' rank (the op prepends 1s to a shorter mask),
 * each dim 1 (broadcast) or the logits' dim: the kernel reads it with stride 0 along broadcast
 * dims, never a broadcast copy.
 */
export type MaskedSoftmaxInputs = { logits: TensorInfo; mask: TensorInfo };

/** `dy`: float32 (logits' shape); `mask` as in the forward; `y`: the forward output. */
export type MaskedSoftmaxGradInputs = { dy: TensorInfo; mask: TensorInfo; y: TensorInfo };

export interface MaskedSoftmaxAttrs {
  /** Normalised: in [0, rank). */
  axis: number;
}

export const asSoftmaxAttrs = (attrs: NamedAttrMap | undefined): MaskedSoftmaxAttrs =>
  attrs as unknown as MaskedSoftmaxAttrs;
