import { describe, expect, it } from 'vitest';
import { maskedMeanGeometry } from '../src/geometry.js';

describe('maskedMeanGeometry', () => {
  it('describes the common [batch, time, features] layout as blocks', () => {
    const g = maskedMeanGeometry([3, 4, 5], [3, 4], [1], false);
    expect(g.outShape).toEqual([3, 5]);
    expect(g.keepDimsShape).toEqual([3, 1, 5]);
    expect(g).toMatchObject({ inner: 5, keptSize: 3, reduceSize: 4 });
    expect(g.blocks).toEqual({ outer: 3, reduce: 4, mid: 1 });
    expect(Array.from(g.keptOffsets)).toEqual([0, 4, 8]);
    expect(Array.from(g.reduceOffsets)).toEqual([0, 1, 2, 3]);
  });

  it('tabulates non-contiguous axes', () => {
    // mask [2,3,4], reduce axes 0 and 2: kept positions are j (stride 4), reduced are (i, l).
    const g = maskedMeanGeometry([2, 3, 4, 6], [2, 3, 4], [0, 2], true);
    expect(g.outShape).toEqual([1, 3, 1, 6]);
    expect(g.blocks).toBeNull();
    expect(Array.from(g.keptOffsets)).toEqual([0, 4, 8]);
    expect(Array.from(g.reduceOffsets)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
  });

  it('handles a reduced block followed by kept mask dims, and empty dims', () => {
    const g = maskedMeanGeometry([2, 3, 4], [2, 3, 4], [1], false);
    expect(g.blocks).toEqual({ outer: 2, reduce: 3, mid: 4 });
    expect(Array.from(g.keptOffsets)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
    expect(Array.from(g.reduceOffsets)).toEqual([0, 4, 8]);
    const empty = maskedMeanGeometry([0, 5, 2], [0, 5], [1], false);
    expect(empty).toMatchObject({ keptSize: 0, reduceSize: 5, inner: 2, outShape: [0, 2] });
  });
});
