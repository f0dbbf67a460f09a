import { describe, expect, it } from 'vitest';
import { fastExp } from '../src/exp.js';

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
