/**
 * How a masked mean walks x, shared by the backend kernels so that each of them handles every legal
 * axis set the same way.
 *
 * x is viewed as `[...maskShape, inner]`: the mask broadcasts over the `inner` trailing elements, so
 * one mask element selects a contiguous row of `inner` values. Output position `o` (one per kept
 * mask-level position) averages the rows at mask-level offsets `keptOffsets[o] + reduceOffsets[t]`
 * for t in [0, reduceSize). Two small integer tables (their sizes multiply to the mask's size)
 * describe any axis set, contiguous or not, without transposing x.
 */
export interface MaskedMeanGeometry {
  /** Result shape (reduced axes removed, or kept as 1 with keepDims). */
  outShape: number[];
  /** Result shape with keepDims = true: the layout of `dy` for the gradient kernel. */
  keepDimsShape: number[];
  /** Product of x's dims past the mask: elements one mask element selects. */
  inner: number;
  /** Number of output rows (kept mask-level positions). */
  keptSize: number;
  /** Number of mask-level positions averaged into one output row. */
  reduceSize: number;
  /** Mask-level offset of the first position of each output row, length keptSize. */
  keptOffsets: Int32Array;
  /** Mask-level offset of each averaged position relative to its row's start, length reduceSize. */
  reduceOffsets: Int32Array;
  /**
   * When the reduced axes are one contiguous block, x is `[outer, reduce, mid, inner]` with the mask
   * `[outer, reduce, mid]` and output `[outer, mid, inner]`; kernels may use this for direct
   * addressing. Null for non-contiguous axis sets.
   */
  blocks: { outer: number; reduce: number; mid: number } | null;
}

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/** Offsets of every position of `dims` (row-major over the subset) within the full mask layout. */
function offsetsOf(dims: readonly number[], strides: readonly number[]): Int32Array {
  const out = new Int32Array(product(dims));
  let n = 1;
  // Built from the innermost dim outwards: each pass repeats the current table once per index.
  for (let d = dims.length - 1; d >= 0; d--) {
    const size = dims[d]!;
    const stride = strides[d]!;
    for (let i = size - 1; i >= 0; i--) {
      for (let j = 0; j < n; j++) out[i * n + j] = out[j]! + i * stride;
    }
    n *= size;
  }
  return out;
}

/** `axis` must already be normalised (sorted, unique, each < maskShape.length). */
export function maskedMeanGeometry(
  xShape: readonly number[],
  maskShape: readonly number[],
  axis: readonly number[],
  keepDims: boolean,
): MaskedMeanGeometry {
  const k = maskShape.length;
  const reduced = new Set(axis);
  const strides: number[] = new Array(k);
  for (let d = k - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= maskShape[d]!;
  }
  const keptDims: number[] = [];
  const keptStrides: number[] = [];
  const reduceDims: number[] = [];
  const reduceStrides: number[] = [];
  for (let d = 0; d < k; d++) {
    (reduced.has(d) ? reduceDims : keptDims).push(maskShape[d]!);
    (reduced.has(d) ? reduceStrides : keptStrides).push(strides[d]!);
  }
  const keepDimsShape = xShape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepDims ? keepDimsShape : xShape.filter((_, i) => !reduced.has(i));
  const contiguous = axis.length === 0 || axis[axis.length - 1]! - axis[0]! === axis.length - 1;
  const first = axis.length === 0 ? k : axis[0]!;
  const last = axis.length === 0 ? k : axis[axis.length - 1]! + 1;
  return {
    outShape,
    keepDimsShape,
    inner: product(xShape.slice(k)),
    keptSize: product(keptDims),
    reduceSize: product(reduceDims),
    keptOffsets: offsetsOf(keptDims, keptStrides),
    reduceOffsets: offsetsOf(reduceDims, reduceStrides),
    blocks: contiguous
      ? {
          outer: product(maskShape.slice(0, first)),
          reduce: product(maskShape.slice(first, last)),
          mid: product(maskShape.slice(last)),
        }
      : null,
  };
}
