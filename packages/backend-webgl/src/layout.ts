/**
 * How the shaders address x and the mask: every tensor is read as a flat 1-D array (unpacked
 * textures are row-major over their texture whatever their logical shape, so a flat view is free),
 * and the mask's dims are merged into alternating runs of kept and reduced dims.
 *
 * A mask-level position m (x row m holds `inner` contiguous values) is
 * `m = sum_j keptIndex_j * keptRuns[j].maskStride + sum_j reduceIndex_j * reduceRuns[j].maskStride`.
 * Dims of size 1 are dropped and adjacent dims of the same kind merged, so the common
 * `[batch, time]` mask reduced over time has one kept run and one reduced run, and any axis set,
 * contiguous or not, has at most `mask rank` runs. Shaders are generated per number of runs, never
 * per shape: sizes and strides are uniforms.
 */
export interface Run {
  /** Number of positions in the run. */
  size: number;
  /** Mask-level stride of one step along the run. */
  maskStride: number;
  /** Row-major stride of the run within its own kind (kept or reduced) flat index. */
  flatStride: number;
}

export interface MaskLayout {
  /** Runs of kept dims, outermost first. */
  kept: Run[];
  /** Runs of reduced dims, outermost first. */
  reduced: Run[];
  /** All runs in mask order, with `outStride` = the kept flat stride (0 for reduced runs). */
  all: { maskStride: number; outStride: number }[];
}

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
    maskStride: r.maskStride,
    outStride: r.reduced ? 0 : kept[keptIndex++]!.flatStride,
  }));
  return { kept, reduced, all };
}
