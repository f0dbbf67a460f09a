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
export type ReducerName = 'sum' | 'mean' | 'max' | 'min';

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
  /** The result for a slice with no valid element. */
  readonly emptyValue: number;
  /**
   * Extra inputs of the gradient kernel: max/min need x and the forward output y (keepDims
   * layout) to find the tied arg-max; sum and mean need neither.
   */
  readonly gradInputs: readonly GradInput[];
  /** tfjs's unmasked counterpart (the benchmarks' "masking is free" floor). */
  readonly unmasked: 'sum' | 'mean' | 'max' | 'min';
}

const row = (
  op: string,
  reducer: ReducerName,
  kernel: string,
  gradInputs: readonly GradInput[],
): MaskedReduction => ({
  op,
  reducer,
  kernelName: kernel,
  gradKernelName: `${kernel}Grad`,
  emptyValue: 0,
  gradInputs,
  unmasked: reducer,
});

export const MASKED_SUM = row('maskedSum', 'sum', 'MaskedSum', []);
export const MASKED_MEAN = row('maskedMean', 'mean', 'MaskedMean', []);
export const MASKED_MAX = row('maskedMax', 'max', 'MaskedMax', ['x', 'y']);
export const MASKED_MIN = row('maskedMin', 'min', 'MaskedMin', ['x', 'y']);

/** Every masked reduction, in the order tests, benchmarks and reports list them. */
export const MASKED_REDUCTIONS: readonly MaskedReduction[] = [
  MASKED_SUM,
  MASKED_MEAN,
  MASKED_MAX,
  MASKED_MIN,
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
