import { describe, expect, it } from 'vitest';
import { decodeRun, encodeRun } from '../src/transfer.js';

describe('page -> CLI transfer', () => {
  it('round-trips float32 results bit for bit (NaN, ±Inf, -0, empty lists), output by output', () => {
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
    const big = Array.from({ length: 100_003 }, (_, i) => Math.fround(Math.sin(i) * 1e30));
    const run = {
      kernels: { sum: 'fused' as const, moments: 'composite' as const },
      results: [
        { op: 'sum' as const, name: 'a', outputs: [{ y: special, dx: [] }] },
        { op: 'sum' as const, name: 'b', outputs: [{ y: [Math.fround(0.1), 3e38], dx: big }] },
        {
          op: 'moments' as const,
          name: 'c',
          outputs: [
            { y: [1.5], dx: [0.25, 0.25] },
            { y: [0.25], dx: [-0.5, 0.5] },
          ],
        },
      ],
    };
    const encoded = encodeRun(run);
    expect(typeof encoded.results[1]!.outputs[0]!.dx).toBe('string');
    const back = decodeRun(JSON.parse(JSON.stringify(encoded)));
    expect(back.kernels).toEqual(run.kernels);
    expect(back.results.map((r) => [r.op, r.name, r.outputs.length])).toEqual([
      ['sum', 'a', 1],
      ['sum', 'b', 1],
      ['moments', 'c', 2],
    ]);
    const [a, b, c] = back.results.map((r) => r.outputs);
    expect(a![0]!.y.map((v) => Object.is(v, -0) || v)).toEqual(
      special.map((v) => Object.is(v, -0) || v),
    );
    expect(a![0]!.dx).toEqual([]);
    expect(b![0]!.y).toEqual([Math.fround(0.1), Math.fround(3e38)]);
    expect(b![0]!.dx).toEqual(big);
    expect(c).toEqual([
      { y: [1.5], dx: [0.25, 0.25] },
      { y: [0.25], dx: [-0.5, 0.5] },
    ]);
  });
});
