/**
 * How a softmax kernel walks its input: rows along `axis`, and the mask's offset of each element
 * with stride 0 along the dims where the mask broadcasts. Shared by the cpu and wasm kernels and
 * the GPU programs' uniforms, so the broadcast is read, never materialised.
 */
export interface SoftmaxDim {
  size: number;
  /** The mask's stride along this dim (0 where the mask broadcasts). */
  maskStride: number;
}

export interface SoftmaxGeometry {
  /** logits = [outer..., n, inner...]: rows = outer * inner, each of n elements, stride inner. */
  outer: number;
  n: number;
  inner: number;
  /** The mask's stride along the softmax axis (0 when the mask broadcasts along the row). */
  maskAxisStride: number;
  /**
   * The dims before and after the axis, merged where adjacent dims broadcast alike (so a
   * key-padding mask [B,1,1,L] over [B,H,Q,L] gives outer [{B, L}, {H*Q, 0}]), outermost first.
   */
  outerDims: SoftmaxDim[];
  innerDims: SoftmaxDim[];
  /** The mask's stride along every logits dim (0 where it broadcasts). */
  maskStrides: number[];
}

/** Row-major strides of `shape`, 0 for dims of size 1 (they broadcast). */
function broadcastStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = shape[d] === 1 ? 0 : stride;
    stride *= shape[d]!;
  }
  return strides;
}

/** Merges adjacent dims whose mask strides chain (b's stride * a's size == a's stride). */
function merge(dims: SoftmaxDim[]): SoftmaxDim[] {
  const out: SoftmaxDim[] = [];
  for (const d of dims) {
    if (d.size === 1) continue;
    const last = out.at(-1);
    if (last && last.maskStride === d.maskStride * d.size) {
      last.size *= d.size;
      last.maskStride = d.maskStride;
    } else {
      out.push({ ...d });
    }
  }
  return out;
}

/**
 * `maskShape` has the logits' rank (the op prepends 1s); each dim is 1 or the logits' dim.
 * `axis` is normalised.
 */
export function softmaxGeometry(
  logitsShape: readonly number[],
  maskShape: readonly number[],
  axis: number,
): SoftmaxGeometry {
  const maskStrides = broadcastStrides(maskShape);
  const dims = logitsShape.map((size, d) => ({ size, maskStride: maskStrides[d]! }));
  const prod = (ds: SoftmaxDim[]) => ds.reduce((p, d) => p * d.size, 1);
  const before = dims.slice(0, axis);
  const after = dims.slice(axis + 1);
  return {
    outer: prod(before),
    n: logitsShape[axis]!,
    inner: prod(after),
    maskAxisStride: maskStrides[axis]!,
    outerDims: merge(before),
    innerDims: merge(after),
    maskStrides,
  };
}

/** The mask offset of flat index `index` of the (merged) dims `dims`. */
export function maskOffset(dims: readonly SoftmaxDim[], index: number): number {
  let offset = 0;
  for (let d = dims.length - 1; d >= 0; d--) {
    const { size, maskStride } = dims[d]!;
    offset += (index % size) * maskStride;
    index = Math.floor(index / size);
  }
  return offset;
}
