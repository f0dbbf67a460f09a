/**
 * The float64 embedding bag (docs/SPEC.md "Embedding bag"): PyTorch's `F.embedding_bag` written
 * out loop by loop. Like the reducers' references it imports nothing; test/reference.test.ts
 * checks that.
 */

export interface ReferenceBagInput {
  /** Row-major `[numEmbeddings, dim]`. */
  weight: ArrayLike<number>;
  numEmbeddings: number;
  dim: number;
  /** Flat ids. */
  ids: ArrayLike<number>;
  /** `batch + 1` bag boundaries into ids. */
  offsets: ArrayLike<number>;
  mode: 'sum' | 'mean' | 'max';
  /** In [0, numEmbeddings), or -1 for none. */
  paddingId: number;
  perSampleWeights?: ArrayLike<number>;
}

export interface ReferenceBagResult {
  /** `[batch, dim]`, row-major. */
  values: Float64Array;
  /** Real ids behind each value (0: an empty bag, whose value must be exactly 0). */
  counts: Float64Array;
  /** The error-bound scale of each value: the family's rule per reducer. */
  scales: Float64Array;
  /** mode 'max' picks one of the weights: exact. */
  exact: boolean;
}

/**
 * The real positions of bag b: not padding, and in range (backends that read ids reject an
 * out-of-range id; the others skip it, and this is what they are checked against).
 */
function members(input: ReferenceBagInput, b: number): number[] {
  const out: number[] = [];
  for (let i = input.offsets[b]!; i < input.offsets[b + 1]!; i++) {
    const id = input.ids[i]!;
    if (id !== input.paddingId && id >= 0 && id < input.numEmbeddings) out.push(i);
  }
  return out;
}

const rowValue = (input: ReferenceBagInput, i: number, c: number): number =>
  input.weight[input.ids[i]! * input.dim + c]!;

export function referenceEmbeddingBag(input: ReferenceBagInput): ReferenceBagResult {
  const { dim, mode } = input;
  const batch = input.offsets.length - 1;
  const values = new Float64Array(batch * dim);
  const counts = new Float64Array(batch * dim);
  const scales = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const real = members(input, b);
    for (let c = 0; c < dim; c++) {
      const terms = real.map(
        (i) => rowValue(input, i, c) * (input.perSampleWeights ? input.perSampleWeights[i]! : 1),
      );
      const o = b * dim + c;
      counts[o] = terms.length;
      const total = terms.reduce((s, v) => s + v, 0);
      const maxAbs = terms.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (terms.length === 0) values[o] = 0;
      else if (mode === 'sum') values[o] = total;
      else if (mode === 'mean') values[o] = total / terms.length;
      else values[o] = terms.some(Number.isNaN) ? Number.NaN : Math.max(...terms);
      scales[o] = mode === 'sum' ? terms.reduce((s, v) => s + Math.abs(v), 0) : maxAbs;
    }
  }
  return { values, counts, scales, exact: mode === 'max' };
}

/** d weight of `sum(dy * embeddingBag(...))`, with what the error bound needs per element. */
export interface ReferenceBagGrad {
  /** `[numEmbeddings, dim]`. */
  dWeight: Float64Array;
  /** Contributions per element (0: a row no real id touched, which must be exactly 0). */
  dWeightCounts: Float64Array;
  /** Sum of the contributions' magnitudes per element (their float32 rounding grows with it). */
  dWeightScales: Float64Array;
  /** `[nnz]`, with perSampleWeights only: dy of the id's bag dotted with its row (0 for padding). */
  dPerSampleWeights?: Float64Array;
}

/**
 * The gradients of `sum(dy * embeddingBag(...))`. Mode 'max' splits dy evenly among the real
 * elements tied with the bag's max (a NaN ties a NaN).
 */
export function referenceEmbeddingBagGrad(
  input: ReferenceBagInput,
  dy: ArrayLike<number>,
): ReferenceBagGrad {
  const { dim, mode } = input;
  const batch = input.offsets.length - 1;
  const dWeight = new Float64Array(input.numEmbeddings * dim);
  const dWeightCounts = new Float64Array(input.numEmbeddings * dim);
  const dWeightScales = new Float64Array(input.numEmbeddings * dim);
  const dSample = input.perSampleWeights ? new Float64Array(input.ids.length) : undefined;
  const forward = referenceEmbeddingBag(input).values;
  for (let b = 0; b < batch; b++) {
    const real = members(input, b);
    for (let c = 0; c < dim; c++) {
      const g = dy[b * dim + c]!;
      const y = Math.fround(forward[b * dim + c]!);
      const tied =
        mode === 'max'
          ? real.filter((i) => {
              const v = rowValue(input, i, c);
              return v === y || (Number.isNaN(v) && Number.isNaN(y));
            })
          : real;
      for (const i of tied) {
        const coefficient =
          mode === 'mean'
            ? 1 / real.length
            : mode === 'max'
              ? 1 / tied.length
              : input.perSampleWeights
                ? input.perSampleWeights[i]!
                : 1;
        const o = input.ids[i]! * dim + c;
        dWeight[o]! += g * coefficient;
        dWeightCounts[o]! += 1;
        dWeightScales[o]! += Math.abs(g * coefficient);
      }
      if (dSample) for (const i of real) dSample[i]! += g * rowValue(input, i, c);
    }
  }
  const grads: ReferenceBagGrad = { dWeight, dWeightCounts, dWeightScales };
  if (dSample) grads.dPerSampleWeights = dSample;
  return grads;
}
