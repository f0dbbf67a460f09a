import { describe, expect, it } from 'vitest';
import { decodeRun, encodeRun } from '../src/transfer.js';

describe('page -> CLI transfer', () => {
  it('round-trips float32 results bit for bit (NaN, ±Inf, -0, empty lists)', () => {
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
    const big = Array.from({ length: 100_003 }, (_, i) => Math.fround(Math.sin(i) * 1e30));
    const run = {
      kernels: { sum: 'fused' as const },
      results: [
        { op: 'sum' as const, name: 'a', y: special, dx: [] },
        { op: 'sum' as const, name: 'b', y: [Math.fround(0.1), 3e38], dx: big },
      ],
    };
    const encoded = encodeRun(run);
    expect(typeof encoded.results[1]!.dx).toBe('string');
    const back = decodeRun(JSON.parse(JSON.stringify(encoded)));
    expect(back.kernels).toEqual(run.kernels);
    expect(back.results.map((r) => [r.op, r.name])).toEqual([
      ['sum', 'a'],
      ['sum', 'b'],
    ]);
    expect(back.results[0]!.y.map((v) => Object.is(v, -0) || v)).toEqual(
      special.map((v) => Object.is(v, -0) || v),
    );
    expect(back.results[0]!.dx).toEqual([]);
    expect(back.results[1]!.y).toEqual([Math.fround(0.1), Math.fround(3e38)]);
    expect(back.results[1]!.dx).toEqual(big);
  });
});
