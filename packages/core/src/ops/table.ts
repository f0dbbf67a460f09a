/**
 * The op table: one row per masked reduction. Everything that differs between the reductions of
 * the family is here, keyed by the row; the op wrapper, validation, gradient registration, the
 * fallback, the conformance kit, the benchmarks and every backend's `register_all_kernels` are
 * generated from it. docs/SPEC.md has the semantics of each row.
 *
 * Adding a reduction: a row here, a float64 reference (reference/reducers.ts), a composite
 * (fallback/composite.ts), an adjoint for double backprop (gradients.ts) and one reducer per
 * backend. CONTRIBUTING.md has the recipe.
 */

/** The reducers the backends implement. A backend keys its reducer code by this name. */
export type ReducerName = 'sum' | 'mean' | 'max' | 'min' | 'logsumexp' | 'moments';

/** What a gradient kernel reads besides `dy` and `mask`. */
export type GradInput = 'x' | 'y';

export interface MaskedReduction {
  /** The exported op's name, and the prefix of its error messages. */
  readonly op: string;
  readonly reducer: ReducerName;
  /** Forward kernel: inputs `{x, mask}`, attrs {@link MaskedReduceAttrs}. */
  readonly kernelName: string;
  /** Gradient kernel: inputs `{dy, mask}` plus {@link gradInputs}, attrs {@link MaskedReduceGradAttrs}. */
  readonly gradKernelName: string;
  /** The result for a slice with no valid element (per output, in {@link outputs} order). */
  readonly emptyValue: number;
  /**
   * The op's results. One (`['y']`): the op returns a tensor and the kernel one output. Several
   * (moments: `['mean', 'variance']`): the op returns an object keyed by these names, the forward
   * kernel returns its outputs in this order, and the gradient kernel receives the cotangent of
   * output i as `dy` (i = 0) or `dy${i}` (docs/SPEC.md "The kernel contract").
   */
  readonly outputs: readonly string[];
  /** The empty-slice value of each output ({@link emptyValue} for the first). */
  readonly emptyValues: readonly number[];
  /**
   * Extra inputs of the gradient kernel: max/min need x and the forward output y (keepDims
   * layout) to find the tied arg-max; logsumexp needs both for `exp(x - y)`; moments needs x and
   * its first output (the mean) as y; sum and mean need neither.
   */
  readonly gradInputs: readonly GradInput[];
  /** tfjs's unmasked counterpart (the benchmarks' "masking is free" floor). */
  readonly unmasked: 'sum' | 'mean' | 'max' | 'min' | 'logSumExp' | 'moments';
}

const row = (
  op: string,
  reducer: ReducerName,
  kernel: string,
  gradInputs: readonly GradInput[],
  more: Partial<Pick<MaskedReduction, 'outputs' | 'emptyValues' | 'unmasked'>> = {},
): MaskedReduction => {
  const emptyValues = more.emptyValues ?? [0];
  return {
    op,
    reducer,
    kernelName: kernel,
    gradKernelName: `${kernel}Grad`,
    emptyValue: emptyValues[0]!,
    outputs: more.outputs ?? ['y'],
    emptyValues,
    gradInputs,
    unmasked: more.unmasked ?? (reducer as MaskedReduction['unmasked']),
  };
};

export const MASKED_SUM = row('maskedSum', 'sum', 'MaskedSum', []);
export const MASKED_MEAN = row('maskedMean', 'mean', 'MaskedMean', []);
export const MASKED_MAX = row('maskedMax', 'max', 'MaskedMax', ['x', 'y']);
export const MASKED_MIN = row('maskedMin', 'min', 'MaskedMin', ['x', 'y']);
export const MASKED_LOG_SUM_EXP = row(
  'maskedLogSumExp',
  'logsumexp',
  'MaskedLogSumExp',
  ['x', 'y'],
  {
    emptyValues: [Number.NEGATIVE_INFINITY],
    unmasked: 'logSumExp',
  },
);
export const MASKED_MOMENTS = row('maskedMoments', 'moments', 'MaskedMoments', ['x', 'y'], {
  outputs: ['mean', 'variance'],
  emptyValues: [0, 0],
});

/** Every masked reduction, in the order tests, benchmarks and reports list them. */
export const MASKED_REDUCTIONS: readonly MaskedReduction[] = [
  MASKED_SUM,
  MASKED_MEAN,
  MASKED_MAX,
  MASKED_MIN,
  MASKED_LOG_SUM_EXP,
  MASKED_MOMENTS,
];

/** The row of a reducer. */
export function maskedReduction(reducer: ReducerName): MaskedReduction {
  const spec = MASKED_REDUCTIONS.find((r) => r.reducer === reducer);
  if (spec === undefined) throw new Error(`masked-ops: no masked reduction '${reducer}'`);
  return spec;
}

/** Attributes of every forward kernel (the op normalises them before `runKernel`). */
export interface MaskedReduceAttrs {
  /** Sorted, unique, non-negative, each < mask rank. */
  axis: number[];
  keepDims: boolean;
}

/** Attributes of every gradient kernel. */
export interface MaskedReduceGradAttrs {
  /** As in {@link MaskedReduceAttrs}. */
  axis: number[];
  /** The shape of x, which is also the shape of the kernel's output dx. */
  xShape: number[];
}
