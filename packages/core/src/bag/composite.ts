import {
  concat,
  cumsum,
  div,
  divNoNan,
  equal,
  expandDims,
  fill,
  gather,
  greater,
  greaterEqual,
  isNaN as isNaNOp,
  less,
  logicalAnd,
  logicalOr,
  maximum,
  mul,
  notEqual,
  onesLike,
  range,
  reshape,
  scalar,
  scatterND,
  slice,
  sub,
  sum,
  type Tensor,
  type Tensor1D,
  tidy,
  upperBound,
  where,
  zeros,
} from '@tensorflow/tfjs-core';
import type { EmbeddingBagAttrs } from './contract.js';

/**
 * The embedding bag and its gradients from built-in tfjs ops, for backends without the plugin
 * kernels (docs/SPEC.md "Embedding bag"). Every real id's row is gathered (`[nnz, dim]`, which
 * the fused kernels never build), each element is assigned its bag with `upperBound` on the
 * offsets, and bags reduce with a scatter-add (sum, mean) or a segmented max scan
 * (log2(nnz) steps: tfjs has no segment max). Out-of-range ids cannot be reported here without a
 * synchronous read of the ids, which webgpu cannot do: they are skipped, as padding is.
 */

interface Bags {
  /** Real ids (not padding, in range): bool `[nnz]`. */
  valid: Tensor;
  /** Ids with the skipped ones replaced by 0, safe to gather: int32 `[nnz]`. */
  safeIds: Tensor;
  /** The bag of each element: int32 `[nnz]`. */
  bagOf: Tensor1D;
  /** Real ids per bag: float32 `[batch, 1]`. */
  counts: Tensor;
  batch: number;
}

function bags(ids: Tensor, offsets: Tensor, numEmbeddings: number, paddingId: number): Bags {
  const nnz = ids.size;
  const batch = offsets.size - 1;
  const inRange = logicalAnd(
    greaterEqual(ids, scalar(0, 'int32')),
    less(ids, scalar(numEmbeddings, 'int32')),
  );
  const valid = logicalAnd(inRange, notEqual(ids, scalar(paddingId, 'int32')));
  const safeIds = where(valid, ids, zeros([nnz], 'int32'));
  // Element i belongs to the bag b with offsets[b] <= i < offsets[b + 1]: the number of bag ends
  // (offsets[1..batch]) at or before i.
  const ends = slice(offsets, [1], [batch]);
  // (upperBound keeps 1-D inputs 2-D: [1, nnz].)
  const bagOf = reshape(upperBound(ends, range(0, nnz, 1, 'int32')), [nnz]) as Tensor1D;
  const counts = expandDims(segmentSum(where(valid, scalar(1), scalar(0)), bagOf, batch), 1);
  return { valid, safeIds, bagOf, counts, batch };
}

/**
 * Sums of `data`'s rows per segment id: scatterND, which sums duplicate indices on every backend
 * in one pass. (tfjs's unsortedSegmentSum loops over the segments on cpu, one full pass and a
 * tensor each: minutes for a 100,000-row table; and tfjs-wasm has none.)
 */
const segmentSum = (data: Tensor, segmentIds: Tensor, segments: number): Tensor =>
  scatterND(expandDims(segmentIds, 1), data, [segments, ...data.shape.slice(1)]);

/** A bool per element broadcast over the dim columns. */
const column = (t: Tensor): Tensor => expandDims(t, 1);

/** Per bag and column, the max of the real rows (-Inf where the bag has none): a segmented scan. */
function segmentMax(rows: Tensor, b: Bags): Tensor {
  const [nnz, dim] = rows.shape as [number, number];
  let v = where(column(b.valid), rows, fill([nnz, dim], Number.NEGATIVE_INFINITY));
  for (let k = 1; k < nnz; k *= 2) {
    const before = concat([
      fill([k, dim], Number.NEGATIVE_INFINITY),
      slice(v, [0, 0], [nnz - k, dim]),
    ]);
    const bagBefore = concat([fill([k], -1, 'int32'), slice(b.bagOf, [0], [nnz - k])]);
    v = where(column(equal(b.bagOf, bagBefore)), maximum(v, before), v);
  }
  // Each bag's maximum sits at its last element; empty bags read a clamped neighbour, masked later.
  return gather(v, lastIndex(b));
}

/** The index of each bag's last element (0 for an empty bag, whose result is masked anyway). */
function lastIndex(b: Bags): Tensor {
  const nnz = b.bagOf.size;
  // The last element of bag j is the number of elements in bags 0..j, minus 1.
  const perBag = segmentSum(fill([nnz], 1, 'int32'), b.bagOf, b.batch);
  const cumulative = cumsum(perBag);
  return where(
    greater(cumulative, scalar(0, 'int32')),
    sub(cumulative, scalar(1, 'int32')),
    zeros([b.batch], 'int32'),
  );
}

/** Float32 `[batch, dim]`; `ids` int32 `[nnz]`, `offsets` int32 `[batch + 1]`. */
export function compositeEmbeddingBag(
  weight: Tensor,
  ids: Tensor,
  offsets: Tensor,
  perSampleWeights: Tensor | undefined,
  attrs: EmbeddingBagAttrs,
): Tensor {
  return tidy(() => {
    const [numEmbeddings, dim] = weight.shape as [number, number];
    const batch = offsets.size - 1;
    if (ids.size === 0 || numEmbeddings === 0 || dim === 0 || batch === 0) {
      return zeros([batch, dim]);
    }
    const b = bags(ids, offsets, numEmbeddings, attrs.paddingId);
    const rows = gather(weight, b.safeIds);
    const real = column(b.valid);
    const nonEmpty = greater(b.counts, scalar(0));
    switch (attrs.mode) {
      case 'sum': {
        const scaled = perSampleWeights ? mul(rows, column(perSampleWeights)) : rows;
        return segmentSum(where(real, scaled, scalar(0)), b.bagOf, batch);
      }
      case 'mean': {
        // Each row divided by its bag's count first, so the sum cannot overflow where the mean
        // is finite (as the masked mean).
        const perRow = div(rows, gather(b.counts, b.bagOf));
        return segmentSum(where(real, perRow, scalar(0)), b.bagOf, batch);
      }
      case 'max': {
        const top = segmentMax(rows, b);
        const nan = segmentSum(
          where(logicalAnd(real, isNaNOp(rows)), scalar(1), scalar(0)),
          b.bagOf,
          batch,
        );
        return where(greater(nan, scalar(0)), scalar(Number.NaN), where(nonEmpty, top, scalar(0)));
      }
    }
  });
}

/**
 * `[d weight]`, plus `d perSampleWeights` when given, from built-in ops. `dy`: `[batch, dim]`;
 * `y`: the forward output (mode 'max' finds the tied arg-max rows with it); `weight` is needed
 * only by mode 'max' and with perSampleWeights.
 */
export function compositeEmbeddingBagGrads(
  dy: Tensor,
  weight: Tensor | undefined,
  y: Tensor,
  ids: Tensor,
  offsets: Tensor,
  perSampleWeights: Tensor | undefined,
  attrs: EmbeddingBagAttrs,
  numEmbeddings: number,
): Tensor[] {
  return tidy(() => {
    const dim = dy.shape[1]!;
    const batch = offsets.size - 1;
    const empty = ids.size === 0 || numEmbeddings === 0 || dim === 0 || batch === 0;
    if (empty) {
      const dWeight = zeros([numEmbeddings, dim]);
      return perSampleWeights ? [dWeight, zeros([ids.size])] : [dWeight];
    }
    const b = bags(ids, offsets, numEmbeddings, attrs.paddingId);
    const real = column(b.valid);
    const dyRows = gather(dy, b.bagOf);
    // The table's rows: read only by mode 'max' and the per-sample weights' gradient.
    const rows = () => gather(weight!, b.safeIds);
    let perRow: Tensor;
    switch (attrs.mode) {
      case 'sum':
        perRow = perSampleWeights ? mul(dyRows, column(perSampleWeights)) : dyRows;
        break;
      case 'mean':
        perRow = mul(dyRows, gather(divNoNan(onesLike(b.counts), b.counts), b.bagOf));
        break;
      case 'max': {
        // dy splits evenly among the real elements tied with the bag's max (a NaN ties a NaN).
        const yRows = gather(y, b.bagOf);
        const tied = logicalAnd(
          real,
          logicalOr(equal(rows(), yRows), logicalAnd(isNaNOp(rows()), isNaNOp(yRows))),
        );
        const ties = segmentSum(where(tied, scalar(1), scalar(0)), b.bagOf, batch);
        perRow = where(tied, div(dyRows, gather(ties, b.bagOf)), scalar(0));
        break;
      }
    }
    const dWeight = segmentSum(where(real, perRow, scalar(0)), b.safeIds, numEmbeddings);
    if (!perSampleWeights) return [dWeight];
    const dSample = where(b.valid, sum(mul(dyRows, rows()), 1), scalar(0));
    return [dWeight, dSample];
  });
}
