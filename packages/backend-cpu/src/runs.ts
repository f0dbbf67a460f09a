import { forEachReduced, keptBase, type MaskLayout } from '@masked-ops/core';

/**
 * Visits the reduced positions of output row `o` as strided runs `(start, n, stride)`: one run
 * when the reduced axes are contiguous (every [batch, time, ...] case), else one per position of
 * the outer reduced runs, walked by core's odometer. No table is built.
 */
export function forEachRun(
  layout: MaskLayout,
  o: number,
  visit: (start: number, n: number, stride: number) => void,
): void {
  const base = keptBase(layout, o);
  const runs = layout.reduced;
  const last = runs[runs.length - 1];
  if (last === undefined) {
    visit(base, 1, 1); // every reduced dim has size 1: the row is one position
    return;
  }
  if (runs.length === 1) {
    visit(base, last.size, last.maskStride);
    return;
  }
  const outer = { ...layout, reduced: runs.slice(0, -1) };
  forEachReduced(outer, (off) => visit(base + off, last.size, last.maskStride));
}
