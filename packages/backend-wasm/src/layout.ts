import type { MaskLayout } from '@masked-ops/core';

/**
 * The run layout as the kernels read it (assembly/layout.ts setRuns): int32
 * [K, R, K (size, maskStride) pairs of the kept runs, R pairs of the reduced runs], outermost
 * first. At most 2 + 2 * mask rank numbers, whatever the size of x.
 */
export function runsTable(layout: MaskLayout): Int32Array {
  const { kept, reduced } = layout;
  return Int32Array.from([
    kept.length,
    reduced.length,
    ...kept.flatMap((r) => [r.size, r.maskStride]),
    ...reduced.flatMap((r) => [r.size, r.maskStride]),
  ]);
}
