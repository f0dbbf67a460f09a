/** mulberry32: a tiny seeded PRNG, so every run and every backend sees the same cases. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform float32 values in [lo, hi). */
export function randomFloats(rand: () => number, size: number, lo = -10, hi = 10): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** A 0/1 mask where each element is valid with probability `density`. */
export function randomMask(rand: () => number, size: number, density: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rand() < density ? 1 : 0;
  return out;
}
