import { describe, expect, it } from 'vitest';
import { fastExp, fastExpNoFlush } from '../src/exp.js';

describe('fastExp', () => {
  it('is within 1e-8 relative of Math.exp on [-50, 2] (the range it computes itself)', () => {
    let worst = 0;
    for (let i = 0; i <= 200_000; i++) {
      const z = -50 + (52 * i) / 200_000;
      worst = Math.max(worst, Math.abs(fastExp(z) - Math.exp(z)) / Math.exp(z));
    }
    expect(worst).toBeLessThan(1e-8);
    expect(fastExp(0)).toBe(1);
  });

  it('gives 0 below -50 and Math.exp elsewhere, non-finite inputs included', () => {
    expect(fastExp(-50.5)).toBe(0);
    expect(fastExp(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(fastExp(Number.NaN)).toBeNaN();
    expect(fastExp(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(fastExp(3)).toBe(Math.exp(3));
    expect(fastExp(800)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('fastExpNoFlush', () => {
  it('is fastExp on [-50, 2] and Math.exp elsewhere: no flush to 0 (softmax bounds are relative)', () => {
    for (const z of [-50, -12.5, -1, 0, 0.3, 2]) expect(fastExpNoFlush(z)).toBe(fastExp(z));
    for (const z of [-50.5, -80, -700, -746, 2.5, 90]) expect(fastExpNoFlush(z)).toBe(Math.exp(z));
    expect(fastExpNoFlush(-60)).toBeGreaterThan(0);
    expect(fastExpNoFlush(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(fastExpNoFlush(Number.NaN)).toBeNaN();
  });
});
