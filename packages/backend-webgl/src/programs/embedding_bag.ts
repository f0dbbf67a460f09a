import type { EmbeddingBagMode } from '@masked-ops/core';
import { REDUCERS, TIED_GLSL } from '../glsl/reducers.js';
import { FlatProgram, Uniforms } from './base.js';

/**
 * Programs of the embedding bag (docs/SPEC.md "Embedding bag"; kernels/embedding_bag.ts drives
 * them). Every tensor is read through tfjs's flat unpacked samplers. Ids, offsets, positions and
 * permutations live in float textures (webgl stores int32 as float32): exact below 2^24, so the
 * kernels refuse more ids or table rows than that.
 *
 * Loop bounds must be constants in GLSL ES 1.00 (WebGL 1), so every loop over ids runs to a
 * fixed {@link MAX_IDS} and breaks at its real end: one shader per structure whatever the sizes
 * (a bound baked per size would compile a shader per nnz), and a loop never runs longer than its
 * bag (or its run of equal ids). A bag is one output's loop, however long: unlike the masked
 * reductions it is not split into windows, because the bag lengths are on the GPU (offsets),
 * and reading them back would stall the pipeline.
 */
export const MAX_IDS = 1 << 24;

/** Binary searches halve a range below 2^24 in at most 25 steps. */
const SEARCH_STEPS = 32;

/** GLSL shared by the programs: ids and offsets as ints, real ids, bag bounds, bag of a position. */
const COMMON = `
      int asInt(float v) {
        return int(floor(v + 0.5));
      }
      int clampInt(int v, int lo, int hi) {
        return v < lo ? lo : v > hi ? hi : v;
      }
      // A row of the table that is not the padding id (uPad is -1 for none). Out-of-range ids are
      // skipped like padding: the GPU backends never read ids back to report them.
      bool isReal(float id) {
        return id >= 0.0 && id < float(uRows) && asInt(id) != uPad;
      }
      // Offsets clamped into [0, nnz] and made non-decreasing: bad offsets give unspecified values,
      // never a read outside the ids.
      int bagStart(int b) {
        return clampInt(asInt(getOffsets(b)), 0, uNnz);
      }
      int bagEnd(int b, int start) {
        return clampInt(asInt(getOffsets(b + 1)), start, uNnz);
      }`;

/**
 * GLSL `bagOf(p)`: the bag holding position p (offsets[b] <= p < offsets[b + 1]), or -1 when no
 * bag does (ids after the last bag's end with includeLastOffset): the number of bag ends
 * `offsets[1..batch]` at or before p, by binary search.
 */
const BAG_OF = `
      int bagOf(int p) {
        int lo = 0;
        int hi = uBatch;
        for (int s = 0; s < ${SEARCH_STEPS}; s++) {
          if (lo >= hi) {
            break;
          }
          int mid = (lo + hi) / 2;
          if (asInt(getOffsets(mid + 1)) <= p) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        return lo < uBatch && bagStart(lo) <= p ? lo : -1;
      }`;

/** The uniforms every program declares (COMMON reads them). */
const common = (rows: number, dim: number, nnz: number, batch: number, paddingId: number) =>
  new Uniforms()
    .int('uRows', rows)
    .int('uDim', dim)
    .int('uNnz', nnz)
    .int('uBatch', batch)
    .int('uPad', paddingId);

export interface BagShape {
  numEmbeddings: number;
  dim: number;
  nnz: number;
  batch: number;
  paddingId: number;
}

/**
 * The forward pass, output `[batch * dim]`: each output element walks its bag's ids, gathers
 * `weight[id, col]` (times the per-sample weight in mode 'sum') and folds it with the masked
 * reductions' reducer of the mode (glsl/reducers.ts): sum and mean fold `v * uScale`, a power of
 * two with `2^k >= bag length` (exact), so a partial sum stays within the largest |v| (a mean of
 * 3e38s is 3e38; a sum overflows only if its result does); max picks, a real NaN sticks, and an
 * empty bag gives 0 (no identity value: the first real id initialises the accumulator).
 */
export class BagForwardProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(mode: EmbeddingBagMode, s: BagShape, weighted: boolean) {
    super();
    const reducer = REDUCERS[mode]!;
    this.variableNames = ['weight', 'ids', 'offsets', ...(weighted ? ['psw'] : [])];
    this.outputShape = [s.batch * s.dim];
    this.setUniforms(common(s.numEmbeddings, s.dim, s.nnz, s.batch, s.paddingId));
    const value = `getWeight(asInt(id) * uDim + col)${weighted ? ' * getPsw(p)' : ''}`;
    this.userCode = `
      ${COMMON}
      void main() {
        int idx = getOutputCoords();
        int b = idx / uDim;
        int col = idx - b * uDim;
        int start = bagStart(b);
        int len = bagEnd(b, start) - start;
        // The reducer's scale (a local here: per bag, not per pass): 2^-k with 2^k >= len.
        float uScale = 1.0;
        float uOutScale = 1.0;
        for (int k = 0; k < 31; k++) {
          if (uOutScale >= float(len)) {
            break;
          }
          uOutScale *= 2.0;
          uScale *= 0.5;
        }
        float acc = 0.0;
        float count = 0.0;
        for (int i = 0; i < ${MAX_IDS}; i++) {
          if (i >= len) {
            break;
          }
          int p = start + i;
          float id = getIds(p);
          if (isReal(id)) {
            float v = ${value};
            ${reducer.update('acc', 'v', 'count == 0.0')}
            count += uScale;
          }
        }
        setOutput(${reducer.finish('acc', 'count', '0.0')});
      }
    `;
  }
}

/**
 * A statistic of each bag for d weight: 'count', the real ids per bag (output `[batch]`, mode
 * mean); 'ties', per bag and column the real ids whose row equals the forward output y there
 * (or both NaN), output `[batch * dim]` (mode max: dy splits evenly among them).
 */
export class BagStatProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(stat: 'count' | 'ties', s: BagShape) {
    super();
    const ties = stat === 'ties';
    this.variableNames = ties ? ['ids', 'offsets', 'weight', 'y'] : ['ids', 'offsets'];
    this.outputShape = [ties ? s.batch * s.dim : s.batch];
    this.setUniforms(common(s.numEmbeddings, s.dim, s.nnz, s.batch, s.paddingId));
    this.userCode = `
      ${COMMON}
      ${ties ? TIED_GLSL : ''}
      void main() {
        int idx = getOutputCoords();
        int b = ${ties ? 'idx / uDim' : 'idx'};
        ${ties ? 'int col = idx - b * uDim; float yv = getY(idx);' : ''}
        int start = bagStart(b);
        int len = bagEnd(b, start) - start;
        float n = 0.0;
        for (int i = 0; i < ${MAX_IDS}; i++) {
          if (i >= len) {
            break;
          }
          float id = getIds(start + i);
          if (isReal(id)${ties ? ' && tied(getWeight(asInt(id) * uDim + col), yv)' : ''}) {
            n += 1.0;
          }
        }
        setOutput(n);
      }
    `;
  }
}

/**
 * Per position, output `[nnz]`: 'key', the id where it is a real id inside a bag, else
 * `numEmbeddings` (the sort key: skipped positions sort after every row, so no row's run holds
 * them); 'bag', the bag holding it (or -1).
 */
export class BagPositionProgram extends FlatProgram {
  variableNames = ['ids', 'offsets'];
  outputShape: number[];
  userCode: string;

  constructor(what: 'key' | 'bag', s: BagShape) {
    super();
    this.outputShape = [s.nnz];
    this.setUniforms(common(s.numEmbeddings, s.dim, s.nnz, s.batch, s.paddingId));
    this.userCode = `
      ${COMMON}
      ${BAG_OF}
      void main() {
        int p = getOutputCoords();
        int b = bagOf(p);
        ${
          what === 'bag'
            ? 'setOutput(float(b));'
            : `float id = getIds(p);
        setOutput(b >= 0 && isReal(id) ? float(asInt(id)) : float(uRows));`
        }
      }
    `;
  }
}

/**
 * One pass of a bitonic sort of the positions by (key, position), output `[n]` (n a power of two
 * >= nnz; slots from nnz on hold positions with key numEmbeddings, sorting last). Stage `uK`
 * (block size), step `uJ` (partner distance): element i compares with i ± uJ and keeps the smaller
 * or the larger by its half of the pair and the block's direction. Ties broken by position make
 * the order total, so the sort (and the order of d weight's sums) is deterministic. The first pass
 * starts from the identity permutation (no input). Arithmetic instead of bit operations: GLSL ES
 * 1.00 has none.
 */
export class BitonicSortProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(n: number, nnz: number, rows: number, k: number, j: number, first: boolean) {
    super();
    this.variableNames = first ? ['key'] : ['key', 'perm'];
    this.outputShape = [n];
    this.setUniforms(new Uniforms().int('uNnz', nnz).int('uRows', rows).int('uK', k).int('uJ', j));
    const perm = (i: string) => (first ? `float(${i})` : `getPerm(${i})`);
    this.userCode = `
      float keyOf(float p) {
        return p >= float(uNnz) ? float(uRows) : getKey(int(p));
      }
      void main() {
        int i = getOutputCoords();
        int q = i / uJ;
        bool lower = q - (q / 2) * 2 == 0;
        int l = lower ? i + uJ : i - uJ;
        int blk = i / uK;
        bool ascending = blk - (blk / 2) * 2 == 0;
        float pi = ${perm('i')};
        float pl = ${perm('l')};
        float ki = keyOf(pi);
        float kl = keyOf(pl);
        bool iFirst = ki < kl || (ki == kl && pi < pl);
        bool keepMin = lower == ascending;
        setOutput(keepMin == iFirst ? pi : pl);
      }
    `;
  }
}

/**
 * Output `[numEmbeddings + 1]`: where row r's run starts in the sorted positions (the first
 * sorted slot whose key is >= r, by binary search), so row r's real ids are the sorted slots
 * `[starts[r], starts[r + 1])`.
 */
export class RunStartProgram extends FlatProgram {
  variableNames = ['key', 'perm'];
  outputShape: number[];
  userCode: string;

  constructor(rows: number, nnz: number) {
    super();
    this.outputShape = [rows + 1];
    this.setUniforms(new Uniforms().int('uNnz', nnz));
    this.userCode = `
      void main() {
        float r = float(getOutputCoords());
        int lo = 0;
        int hi = uNnz;
        for (int s = 0; s < ${SEARCH_STEPS}; s++) {
          if (lo >= hi) {
            break;
          }
          int mid = (lo + hi) / 2;
          if (getKey(int(getPerm(mid))) < r) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        setOutput(float(lo));
      }
    `;
  }
}

/**
 * d weight, output `[numEmbeddings * dim]`: element (r, col) sums, over row r's run of sorted
 * positions p, `dy[bag(p), col]` times the mode's scale: the per-sample weight (sum), 1 / count
 * (mean), `[weight[r, col] tied with y[bag, col]] / ties` (max). A row no real id touches has an
 * empty run: exactly 0. Each element reads only its own run, so the pass costs nnz * dim
 * contributions plus one read per element, never the table times nnz (tfjs's scatterND).
 */
export class BagWeightGradProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(mode: EmbeddingBagMode, s: BagShape, weighted: boolean) {
    super();
    const extra =
      mode === 'max'
        ? ['weight', 'y', 'stat']
        : mode === 'mean'
          ? ['stat']
          : weighted
            ? ['psw']
            : [];
    this.variableNames = ['dy', 'perm', 'bags', 'starts', ...extra];
    this.outputShape = [s.numEmbeddings * s.dim];
    this.setUniforms(new Uniforms().int('uDim', s.dim));
    const term =
      mode === 'max'
        ? `float yv = getY(b * uDim + col);
          if (tied(w, yv)) {
            acc += getDy(b * uDim + col) / getStat(b * uDim + col);
          }`
        : mode === 'mean'
          ? 'acc += getDy(b * uDim + col) / getStat(b);'
          : `acc += getDy(b * uDim + col)${weighted ? ' * getPsw(p)' : ''};`;
    this.userCode = `
      ${mode === 'max' ? TIED_GLSL : ''}
      void main() {
        int idx = getOutputCoords();
        int r = idx / uDim;
        int col = idx - r * uDim;
        int lo = int(getStarts(r));
        int len = int(getStarts(r + 1)) - lo;
        ${mode === 'max' ? 'float w = getWeight(idx);' : ''}
        float acc = 0.0;
        for (int i = 0; i < ${MAX_IDS}; i++) {
          if (i >= len) {
            break;
          }
          int p = int(getPerm(lo + i));
          int b = int(getBags(p));
          ${term}
        }
        setOutput(acc);
      }
    `;
  }
}

/**
 * d perSampleWeights, output `[nnz]`: dy of the position's bag dotted with its id's row; 0 at
 * padding, at skipped ids and at positions outside every bag.
 */
export class BagSampleWeightsGradProgram extends FlatProgram {
  variableNames = ['dy', 'weight', 'ids', 'offsets'];
  outputShape: number[];
  userCode: string;

  constructor(s: BagShape) {
    super();
    this.outputShape = [s.nnz];
    this.setUniforms(common(s.numEmbeddings, s.dim, s.nnz, s.batch, s.paddingId));
    this.userCode = `
      ${COMMON}
      ${BAG_OF}
      void main() {
        int p = getOutputCoords();
        int b = bagOf(p);
        float id = getIds(p);
        float total = 0.0;
        if (b >= 0 && isReal(id)) {
          int row = asInt(id) * uDim;
          int g = b * uDim;
          for (int c = 0; c < ${MAX_IDS}; c++) {
            if (c >= uDim) {
              break;
            }
            total += getDy(g + c) * getWeight(row + c);
          }
        }
        setOutput(total);
      }
    `;
  }
}

/** Zeros of `size` elements: outputs of calls with nothing to read (no ids, no bags). */
export class ZerosProgram extends FlatProgram {
  variableNames: string[] = [];
  outputShape: number[];
  userCode = `
      void main() {
        setOutput(0.0);
      }
    `;

  constructor(size: number) {
    super();
    this.outputShape = [size];
  }
}
