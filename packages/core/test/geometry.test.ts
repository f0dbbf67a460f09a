import { describe, expect, it } from 'vitest';
import { forEachReduced, keptBase, maskedGeometry, maskLayout } from '../src/geometry.js';

const reducedOffsets = (g: ReturnType<typeof maskedGeometry>): number[] => {
  const out: number[] = [];
  forEachReduced(g.layout, (off) => out.push(off));
  return out;
};
const keptBases = (g: ReturnType<typeof maskedGeometry>): number[] =>
  Array.from({ length: g.keptSize }, (_, o) => keptBase(g.layout, o));

describe('maskedGeometry', () => {
  it('describes the common [batch, time, features] layout as blocks', () => {
    const g = maskedGeometry([3, 4, 5], [3, 4], [1], false);
    expect(g.outShape).toEqual([3, 5]);
    expect(g.keepDimsShape).toEqual([3, 1, 5]);
    expect(g).toMatchObject({ inner: 5, keptSize: 3, reduceSize: 4, maskSize: 12 });
    expect(g.blocks).toEqual({ outer: 3, reduce: 4, mid: 1 });
    expect(keptBases(g)).toEqual([0, 4, 8]);
    expect(reducedOffsets(g)).toEqual([0, 1, 2, 3]);
  });

  it('walks non-contiguous axes with runs, no tables', () => {
    // mask [2,3,4], reduce axes 0 and 2: kept positions are j (stride 4), reduced are (i, l).
    const g = maskedGeometry([2, 3, 4, 6], [2, 3, 4], [0, 2], true);
    expect(g.outShape).toEqual([1, 3, 1, 6]);
    expect(g.blocks).toBeNull();
    expect(keptBases(g)).toEqual([0, 4, 8]);
    expect(reducedOffsets(g)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
  });

  it('treats axes separated only by size-1 dims as contiguous', () => {
    // mask [4,1,5]: reducing axes 0 and 2 is one run once the size-1 dim is dropped.
    const g = maskedGeometry([4, 1, 5, 2], [4, 1, 5], [0, 2], false);
    expect(g.blocks).toEqual({ outer: 1, reduce: 20, mid: 1 });
    expect(g.outShape).toEqual([1, 2]);
  });

  it('handles a reduced block followed by kept mask dims, and empty dims', () => {
    const g = maskedGeometry([2, 3, 4], [2, 3, 4], [1], false);
    expect(g.blocks).toEqual({ outer: 2, reduce: 3, mid: 4 });
    expect(keptBases(g)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
    expect(reducedOffsets(g)).toEqual([0, 4, 8]);
    const empty = maskedGeometry([0, 5, 2], [0, 5], [1], false);
    expect(empty).toMatchObject({ keptSize: 0, reduceSize: 5, inner: 2, outShape: [0, 2] });
    const noTime = maskedGeometry([3, 0, 2], [3, 0], [1], false);
    expect(noTime).toMatchObject({
      keptSize: 3,
      reduceSize: 0,
      blocks: { outer: 3, reduce: 0, mid: 1 },
    });
    expect(reducedOffsets(noTime)).toEqual([]);
  });

  it('reduces nothing when axis is empty: every mask position is its own row', () => {
    const g = maskedGeometry([4, 6, 3], [4, 6], [], false);
    expect(g.blocks).toEqual({ outer: 24, reduce: 1, mid: 1 });
    expect(g).toMatchObject({ keptSize: 24, reduceSize: 1, outShape: [4, 6, 3] });
  });

  it('merges adjacent dims of one kind into runs', () => {
    const layout = maskLayout([2, 3, 4, 5], [1, 2]);
    expect(layout.kept).toEqual([
      { size: 2, maskStride: 60, flatStride: 5 },
      { size: 5, maskStride: 1, flatStride: 1 },
    ]);
    expect(layout.reduced).toEqual([{ size: 12, maskStride: 5, flatStride: 1 }]);
  });

  it('builds nothing mask-sized for the per-token-loss form [4096, 4096], all axes', () => {
    const start = performance.now();
    const g = maskedGeometry([4096, 4096], [4096, 4096], [0, 1], false);
    expect(g.blocks).toEqual({ outer: 1, reduce: 4096 * 4096, mid: 1 });
    expect(JSON.stringify(g).length).toBeLessThan(1000);
    expect(performance.now() - start).toBeLessThan(50); // a 16M-entry table took ~100 ms
  });
});
