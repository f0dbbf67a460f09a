import { forEachReduced, keptBase, type MaskLayout } from '@masked-ops/core';

/**
 * The longest run a fold sees. Longer runs (a per-token loss over all axes is one run of
 * batch * time positions) are visited in pieces, so V8 optimizes each fold as a function called
 * many times. One call of a 16M-long loop runs in on-stack-replaced code instead, which deopted
 * on every call and ran the loop about half as fast.
 */
export const RUN_CHUNK = 8192;

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
  const { size, maskStride } = last;
  const visitRun =
    size <= RUN_CHUNK
      ? visit
      : (start: number) => {
          for (let t = 0; t < size; t += RUN_CHUNK) {
            visit(start + t * maskStride, Math.min(RUN_CHUNK, size - t), maskStride);
          }
        };
  if (runs.length === 1) {
    visitRun(base, size, maskStride);
    return;
  }
  const outer = { ...layout, reduced: runs.slice(0, -1) };
  forEachReduced(outer, (off) => visitRun(base + off, size, maskStride));
}
