import type { Tensor } from '@tensorflow/tfjs-core';

/** Timed rounds per variant (after one untimed round). */
export const ROUNDS = 7;

/**
 * The median time in ms of `fn` over `rounds` runs, each ending with a read of its result (so
 * the GPU work is in the time). The first, untimed run compiles the shaders.
 */
export async function median(fn: () => Tensor, rounds = ROUNDS): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = performance.now();
    const out = fn();
    await out.data();
    const t = performance.now() - t0;
    out.dispose();
    if (r > 0) times.push(t); // the first round compiles the shaders
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
