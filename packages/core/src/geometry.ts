/**
 * How a masked reduction walks x: the one geometry every backend kernel uses, so that each of them
 * handles every legal axis set the same way. Nothing here is x- or mask-sized: a call describes
 * any axis set with at most `mask rank` runs, contiguous ones with three numbers.
 *
 * x is viewed as `[...maskShape, inner]`: the mask broadcasts over the `inner` trailing elements,
 * so one mask element (a "mask position") selects a contiguous row of `inner` values. The mask's
 * dims are merged into alternating runs of kept and reduced dims: dims of size 1 are dropped and
 * adjacent dims of the same kind merged, so the common `[batch, time]` mask reduced over time has
 * one kept run and one reduced run.
 */

/** A run of adjacent mask dims of one kind (kept or reduced), merged into one. */
export interface Run {
  /** Number of positions in the run. */
  size: number;
  /** Mask-level stride of one step along the run. */
  maskStride: number;
  /** Row-major stride of the run within its own kind's flat index (kept or reduced). */
  flatStride: number;
}

export interface MaskLayout {
  /** Runs of kept dims, outermost first. Output row `o` = the kept flat index. */
  kept: Run[];
  /** Runs of reduced dims, outermost first. */
  reduced: Run[];
  /**
   * Every run in mask order: `outStride` is the kept flat stride (0 for reduced runs), so a mask
   * position decomposed over `all` gives its output row.
   */
  all: { size: number; maskStride: number; outStride: number; reduced: boolean }[];
}

export interface MaskedGeometry {
  /** Result shape (reduced axes removed, or kept as 1 with keepDims). */
  outShape: number[];
  /** Result shape with keepDims = true: the layout of `dy` (and `y`) for gradient kernels. */
  keepDimsShape: number[];
  /** Product of x's dims past the mask: the values one mask position selects. */
  inner: number;
  /** Number of mask positions. */
  maskSize: number;
  /** Number of output rows (kept mask-level positions); the output has keptSize * inner values. */
  keptSize: number;
  /** Number of mask positions reduced into one output row. */
  reduceSize: number;
  layout: MaskLayout;
  /**
   * When at most one reduced run remains (the reduced axes are contiguous once size-1 dims are
   * dropped: every `[batch, time, ...]` case), x is `[outer, reduce, mid, inner]` with the mask
   * `[outer, reduce, mid]` and the output `[outer, mid, inner]`: direct addressing from three
   * numbers. Null when the reduced dims form two or more runs; kernels then walk `layout`.
   */
  blocks: { outer: number; reduce: number; mid: number } | null;
}

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

export function maskLayout(maskShape: readonly number[], axis: readonly number[]): MaskLayout {
  const k = maskShape.length;
  const strides: number[] = new Array(k);
  for (let d = k - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= maskShape[d]!;
  }
  const runs: { size: number; maskStride: number; reduced: boolean }[] = [];
  for (let d = 0; d < k; d++) {
    const size = maskShape[d]!;
    if (size === 1) continue;
    const reduced = axis.includes(d);
    const last = runs[runs.length - 1];
    if (last !== undefined && last.reduced === reduced) {
      // Adjacent dims of one kind: (i_a, i_b) -> i_a * size_b + i_b, stride of the inner dim.
      last.size *= size;
      last.maskStride = strides[d]!;
    } else {
      runs.push({ size, maskStride: strides[d]!, reduced });
    }
  }
  const withFlatStrides = (list: typeof runs): Run[] => {
    const out: Run[] = list.map((r) => ({ size: r.size, maskStride: r.maskStride, flatStride: 1 }));
    for (let j = out.length - 2; j >= 0; j--) {
      out[j]!.flatStride = out[j + 1]!.flatStride * out[j + 1]!.size;
    }
    return out;
  };
  const kept = withFlatStrides(runs.filter((r) => !r.reduced));
  const reduced = withFlatStrides(runs.filter((r) => r.reduced));
  let keptIndex = 0;
  const all = runs.map((r) => ({
    size: r.size,
    maskStride: r.maskStride,
    outStride: r.reduced ? 0 : kept[keptIndex++]!.flatStride,
    reduced: r.reduced,
  }));
  return { kept, reduced, all };
}

/** `axis` must already be normalised (sorted, unique, each < maskShape.length). */
export function maskedGeometry(
  xShape: readonly number[],
  maskShape: readonly number[],
  axis: readonly number[],
  keepDims: boolean,
): MaskedGeometry {
  const k = maskShape.length;
  const reducedAxes = new Set(axis);
  const keepDimsShape = xShape.map((d, i) => (reducedAxes.has(i) ? 1 : d));
  const outShape = keepDims ? keepDimsShape : xShape.filter((_, i) => !reducedAxes.has(i));
  const layout = maskLayout(maskShape, axis);
  const maskSize = product(maskShape);
  const reduceSize = product(axis.map((a) => maskShape[a]!));
  const keptSize = product(maskShape.filter((_, d) => !reducedAxes.has(d)));
  let blocks: MaskedGeometry['blocks'] = null;
  if (layout.reduced.length <= 1) {
    const at = layout.all.findIndex((r) => r.reduced);
    const before = at < 0 ? layout.all : layout.all.slice(0, at);
    blocks = {
      outer: product(before.map((r) => r.size)),
      reduce: at < 0 ? 1 : layout.all[at]!.size,
      mid: at < 0 ? 1 : product(layout.all.slice(at + 1).map((r) => r.size)),
    };
  }
  return {
    outShape,
    keepDimsShape,
    inner: product(xShape.slice(k)),
    maskSize,
    keptSize,
    reduceSize,
    layout,
    blocks,
  };
}

/** Mask-level offset of the first position of output row `o` (decomposed over the kept runs). */
export function keptBase(layout: MaskLayout, o: number): number {
  let rest = o;
  let base = 0;
  for (const r of layout.kept) {
    const i = Math.floor(rest / r.flatStride);
    rest -= i * r.flatStride;
    base += i * r.maskStride;
  }
  return base;
}

/**
 * Visits the mask-level offsets (relative to a row's base) of every reduced position in row-major
 * order, with an odometer over the reduced runs: no table, O(runs) state.
 */
export function forEachReduced(layout: MaskLayout, visit: (offset: number) => void): void {
  const runs = layout.reduced;
  const n = runs.length;
  const total = product(runs.map((r) => r.size));
  if (total === 0) return;
  const index = new Array<number>(n).fill(0);
  let off = 0;
  for (let t = 0; t < total; t++) {
    visit(off);
    for (let j = n - 1; j >= 0; j--) {
      const r = runs[j]!;
      index[j]!++;
      off += r.maskStride;
      if (index[j]! < r.size) break;
      index[j] = 0;
      off -= r.size * r.maskStride;
    }
  }
}
