import type { EmbeddingBagMode } from '../bag/contract.js';
import type { ReferenceBagInput } from '../reference/embedding_bag.js';
import { randomFloats, seededRandom } from './random.js';

/** One call of `embeddingBag` with everything needed to check it, forward and gradients. */
export interface BagCase {
  name: string;
  /** Row-major `[numEmbeddings, dim]`. */
  weight: Float32Array;
  numEmbeddings: number;
  dim: number;
  ids: Int32Array;
  /** `[batch, bagLen]` (padded) or `[nnz]` (with offsets). */
  idsShape: number[];
  offsets?: Int32Array;
  includeLastOffset?: boolean;
  mode: EmbeddingBagMode;
  /** As passed to the op: may be negative or undefined. */
  paddingId?: number;
  perSampleWeights?: Float32Array;
  /** The cotangent for the gradient check, `[batch, dim]`. */
  dy: Float32Array;
  /** Ids outside [0, numEmbeddings) that are not padding: an error on backends that read ids. */
  outOfRange?: boolean;
}

/** The case in the reference's terms: flat ids, `batch + 1` offsets, a normalised padding id. */
export function bagReferenceInput(c: BagCase): ReferenceBagInput {
  const nnz = c.ids.length;
  let offsets: number[];
  if (c.offsets === undefined) {
    const [batch, bagLen] = c.idsShape as [number, number];
    offsets = Array.from({ length: batch + 1 }, (_, b) => b * bagLen);
  } else {
    offsets = c.includeLastOffset ? Array.from(c.offsets) : [...c.offsets, nnz];
  }
  const pad = c.paddingId;
  const input: ReferenceBagInput = {
    weight: c.weight,
    numEmbeddings: c.numEmbeddings,
    dim: c.dim,
    ids: c.ids,
    offsets,
    mode: c.mode,
    paddingId: pad === undefined ? -1 : pad < 0 ? pad + c.numEmbeddings : pad,
  };
  if (c.perSampleWeights) input.perSampleWeights = c.perSampleWeights;
  return input;
}

export const bagBatch = (c: BagCase): number =>
  c.offsets === undefined ? c.idsShape[0]! : c.offsets.length - (c.includeLastOffset ? 1 : 0);

const MODES: readonly EmbeddingBagMode[] = ['sum', 'mean', 'max'];

/** Ids in [0, n) (and, with `padRate`, the padding id `pad` at that rate). */
function randomIds(rand: () => number, size: number, n: number, pad?: number, padRate = 0.3) {
  return Int32Array.from({ length: size }, () =>
    pad !== undefined && rand() < padRate ? pad : Math.floor(rand() * n),
  );
}

/**
 * Every embedding-bag case: all three modes, padding ids (incl. negative), empty bags, duplicate
 * ids, per-sample weights, the offsets form (incl. empty bags at the end), zero batch, NaN in the
 * padding row, ties, long bags and a vocabulary of 100,000.
 */
export function bagCases(seed = 13): BagCase[] {
  const rand = seededRandom(seed);
  const cases: BagCase[] = [];
  const add = (c: Omit<BagCase, 'dy'> & { dy?: Float32Array }) => {
    const size = bagBatch(c as BagCase) * c.dim;
    cases.push({ ...c, dy: c.dy ?? randomFloats(rand, size, -2, 2) } as BagCase);
  };

  // Worked by hand: rows r_k = [k, 10k, -k]; bags [1,2,pad], [3,3,pad], [pad,pad,pad].
  const small = Float32Array.from({ length: 15 }, (_, i) => {
    const k = Math.floor(i / 3);
    return [k, 10 * k, -k][i % 3]!;
  });
  for (const mode of MODES) {
    add({
      name: `${mode}: hand example, padding 0, a duplicate and an empty bag`,
      weight: small,
      numEmbeddings: 5,
      dim: 3,
      ids: Int32Array.from([1, 2, 0, 3, 3, 0, 0, 0, 0]),
      idsShape: [3, 3],
      mode,
      paddingId: 0,
    });
  }

  for (const mode of MODES) {
    for (const paddingId of [undefined, 0, -1, 4]) {
      const n = 10;
      const pad = paddingId === undefined ? undefined : paddingId < 0 ? paddingId + n : paddingId;
      add({
        name: `${mode}: [8,6] ids of 10 rows, dim 4, paddingId ${paddingId}`,
        weight: randomFloats(rand, n * 4),
        numEmbeddings: n,
        dim: 4,
        ids: randomIds(rand, 48, n, pad),
        idsShape: [8, 6],
        mode,
        paddingId,
      });
    }
    const n = 6;
    add({
      name: `${mode}: NaN and Inf in the padding row never leak (paddingId -1)`,
      weight: Float32Array.from(randomFloats(rand, n * 3), (v, i) =>
        i >= (n - 1) * 3
          ? [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY][i % 3]!
          : v,
      ),
      numEmbeddings: n,
      dim: 3,
      ids: Int32Array.from([5, 1, 2, 5, 5, 5, 0, 5, 3, 4, 4, 5]),
      idsShape: [4, 3],
      mode,
      paddingId: -1,
    });
    add({
      name: `${mode}: NaN and ±Inf in real rows`,
      weight: Float32Array.from([
        1,
        Number.NaN,
        3,
        Number.POSITIVE_INFINITY,
        5,
        6,
        -1,
        -2,
        Number.NEGATIVE_INFINITY,
      ]),
      numEmbeddings: 3,
      dim: 3,
      ids: Int32Array.from([0, 1, 1, 2, 0, 2, 2, 2]),
      idsShape: [4, 2],
      mode,
    });
    add({
      name: `${mode}: offsets with an empty bag in the middle`,
      weight: randomFloats(rand, 7 * 5),
      numEmbeddings: 7,
      dim: 5,
      ids: Int32Array.from([3, 1, 6, 0, 2, 2, 5]),
      idsShape: [7],
      offsets: Int32Array.from([0, 3, 3]),
      mode,
      paddingId: 2,
    });
    add({
      name: `${mode}: offsets with includeLastOffset and empty bags at the end`,
      weight: randomFloats(rand, 7 * 2),
      numEmbeddings: 7,
      dim: 2,
      ids: Int32Array.from([3, 1, 6, 0, 4]),
      idsShape: [5],
      offsets: Int32Array.from([0, 2, 5, 5, 5]),
      includeLastOffset: true,
      mode,
    });
    add({
      name: `${mode}: zero batch ([0,4] ids)`,
      weight: randomFloats(rand, 4 * 3),
      numEmbeddings: 4,
      dim: 3,
      ids: new Int32Array(0),
      idsShape: [0, 4],
      mode,
    });
    add({
      name: `${mode}: zero batch (offsets form, no bags)`,
      weight: randomFloats(rand, 4 * 3),
      numEmbeddings: 4,
      dim: 3,
      ids: new Int32Array(0),
      idsShape: [0],
      offsets: new Int32Array(0),
      mode,
    });
    add({
      name: `${mode}: empty bags only ([3,0] ids)`,
      weight: randomFloats(rand, 4 * 3),
      numEmbeddings: 4,
      dim: 3,
      ids: new Int32Array(0),
      idsShape: [3, 0],
      mode,
    });
    add({
      name: `${mode}: ties (rows with equal values, duplicate ids)`,
      weight: Float32Array.from([1, 2, 1, 2, 0, 2, 1, 1]),
      numEmbeddings: 4,
      dim: 2,
      ids: Int32Array.from([0, 1, 2, 0, 0, 3, 3, 3, 1, 1, 2, 2]),
      idsShape: [3, 4],
      mode,
    });
    add({
      name: `${mode}: long bags [2,5000] of 50 rows, dim 3`,
      weight: randomFloats(rand, 50 * 3, -1, 1),
      numEmbeddings: 50,
      dim: 3,
      ids: randomIds(rand, 10000, 50, 7, 0.2),
      idsShape: [2, 5000],
      mode,
      paddingId: 7,
    });
    add({
      name: `${mode}: vocabulary of 100,000 rows, [64,20] ids, dim 4`,
      weight: randomFloats(rand, 100000 * 4, -1, 1),
      numEmbeddings: 100000,
      dim: 4,
      ids: randomIds(rand, 64 * 20, 100000, 99999, 0.25),
      idsShape: [64, 20],
      mode,
      paddingId: -1,
    });
  }

  // Per-sample weights (mode 'sum' only), with padding and duplicates.
  add({
    name: 'sum with perSampleWeights, padding 0 and duplicates: [6,5] ids',
    weight: randomFloats(rand, 8 * 3),
    numEmbeddings: 8,
    dim: 3,
    ids: Int32Array.from([
      1, 1, 0, 2, 3, 0, 0, 0, 0, 0, 7, 7, 7, 6, 5, 4, 4, 2, 0, 1, 3, 3, 3, 3, 3, 6, 0, 6, 0, 6,
    ]),
    idsShape: [6, 5],
    mode: 'sum',
    paddingId: 0,
    perSampleWeights: randomFloats(rand, 30, -2, 2),
  });
  add({
    name: 'sum with perSampleWeights in the offsets form',
    weight: randomFloats(rand, 5 * 4),
    numEmbeddings: 5,
    dim: 4,
    ids: Int32Array.from([0, 4, 4, 1, 2, 3]),
    idsShape: [6],
    offsets: Int32Array.from([0, 1, 1, 4]),
    mode: 'sum',
    paddingId: -2,
    perSampleWeights: randomFloats(rand, 6, -2, 2),
  });

  // Seeded random calls of either form, any mode.
  for (let n = 0; n < 24; n++) {
    const mode = MODES[n % 3]!;
    const numEmbeddings = 1 + Math.floor(rand() * 20);
    const dim = 1 + Math.floor(rand() * 9);
    const batch = Math.floor(rand() * 7);
    const pad = rand() < 0.7 ? Math.floor(rand() * numEmbeddings) : undefined;
    const ragged = n % 2 === 1;
    const weighted = mode === 'sum' && rand() < 0.5;
    let ids: Int32Array;
    let idsShape: number[];
    let offsets: Int32Array | undefined;
    if (ragged) {
      const sizes = Array.from({ length: batch }, () => Math.floor(rand() * 6));
      const nnz = sizes.reduce((s, v) => s + v, 0);
      ids = randomIds(rand, nnz, numEmbeddings, pad);
      idsShape = [nnz];
      offsets = Int32Array.from(sizes.map((_, b) => sizes.slice(0, b).reduce((s, v) => s + v, 0)));
    } else {
      const bagLen = Math.floor(rand() * 7);
      ids = randomIds(rand, batch * bagLen, numEmbeddings, pad);
      idsShape = [batch, bagLen];
    }
    const c: Omit<BagCase, 'dy'> = {
      name: `random #${n}: ${mode}, ${ragged ? `offsets, ${batch} bags` : `[${idsShape}]`}, ${numEmbeddings} rows, dim ${dim}, paddingId ${pad}${weighted ? ', perSampleWeights' : ''}`,
      weight: randomFloats(rand, numEmbeddings * dim),
      numEmbeddings,
      dim,
      ids,
      idsShape,
      mode,
    };
    if (offsets) c.offsets = offsets;
    if (pad !== undefined) c.paddingId = pad;
    if (weighted) c.perSampleWeights = randomFloats(rand, ids.length, -2, 2);
    add(c);
  }
  return cases;
}

/** An id out of range: an error on backends that read ids, skipped (as padding) on the others. */
export function outOfRangeBagCase(): BagCase {
  return {
    name: 'an id out of range (7 with 5 rows) and a negative id (-2)',
    weight: Float32Array.from({ length: 10 }, (_, i) => i),
    numEmbeddings: 5,
    dim: 2,
    ids: Int32Array.from([1, 7, 2, -2, 3, 4]),
    idsShape: [3, 2],
    mode: 'sum',
    dy: Float32Array.from([1, 1, 1, 1, 1, 1]),
    outOfRange: true,
  };
}
