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

/**
 * The medians of several variants timed in turns (one run of each per round, `rounds` rounds
 * after one untimed round), so that a slow minute of a shared machine weighs on all of them
 * alike instead of on whichever variant it fell on.
 */
export async function interleavedMedians<K extends string>(
  fns: Record<K, () => Tensor>,
  rounds = ROUNDS,
): Promise<Record<K, number>> {
  const keys = Object.keys(fns) as K[];
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds + 1; r++) {
    for (const k of keys) {
      const t0 = performance.now();
      const out = fns[k]();
      await out.data();
      const t = performance.now() - t0;
      out.dispose();
      if (r > 0) times[k].push(t); // the first round compiles the shaders
    }
  }
  const mid = (ts: number[]) => [...ts].sort((a, b) => a - b)[Math.floor(ts.length / 2)]!;
  return Object.fromEntries(keys.map((k) => [k, mid(times[k])])) as Record<K, number>;
}
