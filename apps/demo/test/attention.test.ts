// The attention example (src/attention): padded batches against the unpadded sequences, exact
// zeros where a query has nothing to attend to, and a float64 reference written out here.
import { MASKED_SOFTMAX } from '@masked-ops/core';
import { seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attention } from '../src/attention/attention.js';
import { kernelPath } from '../src/matrix.js';
import { useNodeBackend } from '../src/node/backends.js';

const [H, D, DV] = [2, 8, 5];
/** Real (queries, keys) per batch element; the third has no real key at all. */
const LENGTHS: [number, number][] = [
  [5, 7],
  [2, 3],
  [3, 0],
];
const [LQ, LK] = [6, 9];
const B = LENGTHS.length;

/**
 * Padded q, k, v with the real tokens first; the padding holds large finite junk (|x| up to 100,
 * as an embedding of a pad token may): a padded key must get probability exactly 0 whatever its
 * score, and 0 * junk is 0 in the second product.
 */
function paddedBatch(seed: number) {
  const rand = seededRandom(seed);
  const real = (scale: number) => (rand() * 2 - 1) * scale;
  const fill = (l: number, width: number, len: (b: number) => number) => {
    const out = new Float32Array(B * H * l * width);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < l; t++)
          for (let c = 0; c < width; c++) {
            out[((b * H + h) * l + t) * width + c] = t < len(b) ? real(1) : real(100);
          }
    return out;
  };
  const q = fill(LQ, D, (b) => LENGTHS[b]![0]);
  const k = fill(LK, D, (b) => LENGTHS[b]![1]);
  const v = fill(LK, DV, (b) => LENGTHS[b]![1]);
  const keyMask = LENGTHS.flatMap(([, lk]) => Array.from({ length: LK }, (_, t) => t < lk));
  const queryMask = LENGTHS.flatMap(([lq]) => Array.from({ length: LQ }, (_, t) => t < lq));
  return { q, k, v, keyMask, queryMask };
}

/** Rows [0, len) of every (b, h) block of a [B, H, L, width] array, for batch element b. */
function slice(data: Float32Array, b: number, l: number, width: number, len: number) {
  const out = new Float32Array(H * len * width);
  for (let h = 0; h < H; h++) {
    const from = (b * H + h) * l * width;
    out.set(data.subarray(from, from + len * width), h * len * width);
  }
  return out;
}

/**
 * Attention of one unpadded sequence in float64 from the float32 inputs: out[h, i] =
 * sum_j p_ij v_j, p = softmax_j(q_i · k_j / sqrt(d)). Also returns, per output element, the
 * bound the test allows (see the test (c)).
 */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, lq: number, lk: number) {
  const out = new Float64Array(H * lq * DV);
  const bound = new Float64Array(H * lq * DV);
  const logFactor = Math.max(1, Math.ceil(Math.log2(lk + 1)));
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < lq; i++) {
      const s: number[] = [];
      let dotAbs = 0;
      for (let j = 0; j < lk; j++) {
        let dot = 0;
        let abs = 0;
        for (let c = 0; c < D; c++) {
          const a = q[(h * lq + i) * D + c]! * k[(h * lk + j) * D + c]!;
          dot += a;
          abs += Math.abs(a);
        }
        s.push(dot / Math.sqrt(D));
        dotAbs = Math.max(dotAbs, abs / Math.sqrt(D));
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const total = e.reduce((a, x) => a + x, 0);
      const p = e.map((x) => x / total);
      const spread = Math.max(...s.map((x) => m - x));
      // A probability's relative error: docs/SPEC.md's softmax bound, 1e-5 * (1 + |x - m|) *
      // log factor, plus twice the scores' float32 error (a sum of D products, each rounded:
      // (D + 1) * 2^-24 * sum |q_c k_c| / sqrt(d); exp turns an absolute score error into a
      // relative one, and the row's max moves by as much), plus the second product's rounding,
      // (lk + 1) * 2^-24. The output's error is that times sum_j p_j |v_j|.
      const relative =
        1e-5 * (1 + spread) * logFactor + 2 * (D + 1) * 2 ** -24 * dotAbs + (lk + 1) * 2 ** -24;
      for (let c = 0; c < DV; c++) {
        let acc = 0;
        let mag = 0;
        for (let j = 0; j < lk; j++) {
          acc += p[j]! * v[(h * lk + j) * DV + c]!;
          mag += p[j]! * Math.abs(v[(h * lk + j) * DV + c]!);
        }
        out[(h * lq + i) * DV + c] = acc;
        bound[(h * lq + i) * DV + c] = relative * mag;
      }
    }
  }
  return { out, bound };
}

async function runAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: boolean[],
  queryMask: boolean[] | undefined,
  [b, lq, lk]: [number, number, number],
): Promise<Float32Array> {
  const t = {
    q: tf.tensor(q, [b, H, lq, D]),
    k: tf.tensor(k, [b, H, lk, D]),
    v: tf.tensor(v, [b, H, lk, DV]),
    keyMask: tf.tensor(keyMask, [b, lk], 'bool'),
    ...(queryMask ? { queryMask: tf.tensor(queryMask, [b, lq], 'bool') } : {}),
  };
  const out = attention(t);
  try {
    expect(out.shape).toEqual([b, H, lq, DV]);
    return (await out.data()) as Float32Array;
  } finally {
    tf.dispose([out, ...Object.values(t)]);
  }
}

for (const backend of ['cpu', 'wasm']) {
  describe(`attention on node:${backend}`, () => {
    beforeAll(async () => {
      await useNodeBackend(backend);
      // Which masked softmax ran: the plugin's kernel or core's composite (while a backend has
      // none); the properties below must hold either way.
      console.log(
        `attention on ${backend}: maskedSoftmax ${kernelPath(MASKED_SOFTMAX.kernelName, MASKED_SOFTMAX.gradKernelName)}`,
      );
    });

    it('a padded batch gives each real query bitwise the output of its sequence run alone, and 0 elsewhere', async () => {
      const before = tf.memory().numTensors;
      const { q, k, v, keyMask, queryMask } = paddedBatch(1);
      for (const withQueryMask of [true, false]) {
        const padded = await runAttention(q, k, v, keyMask, withQueryMask ? queryMask : undefined, [
          B,
          LQ,
          LK,
        ]);
        for (const [b, [lq, lk]] of LENGTHS.entries()) {
          const got = slice(padded, b, LQ, DV, LQ);
          const real = new Float32Array(H * lq * DV);
          const rest: number[] = [];
          for (let h = 0; h < H; h++) {
            real.set(got.subarray(h * LQ * DV, (h * LQ + lq) * DV), h * lq * DV);
            rest.push(...got.subarray((h * LQ + lq) * DV, (h + 1) * LQ * DV));
          }
          if (lk === 0) {
            // (b) No real key: every output of this batch element is exactly 0, real queries too.
            expect(Array.from(got).every((x) => x === 0)).toBe(true);
            continue;
          }
          // (a) Each sequence alone: unpadded q, k, v, every key valid, no query mask.
          const alone = await runAttention(
            slice(q, b, LQ, D, lq),
            slice(k, b, LK, D, lk),
            slice(v, b, LK, DV, lk),
            new Array<boolean>(lk).fill(true),
            undefined,
            [1, lq, lk],
          );
          expect(real).toEqual(alone);
          // (b) Padded queries: exactly 0 with the query mask (without it they attend to the real
          // keys, whatever the padding holds: finite, not checked here).
          if (withQueryMask) expect(rest.every((x) => x === 0)).toBe(true);
        }
      }
      // (d) Nothing leaked.
      expect(tf.memory().numTensors).toBe(before);
    });

    it('agrees with a float64 attention within the softmax bound carried through', async () => {
      let worst = 0;
      for (const seed of [2, 3, 4]) {
        const { q, k, v, keyMask, queryMask } = paddedBatch(seed);
        const padded = await runAttention(q, k, v, keyMask, queryMask, [B, LQ, LK]);
        for (const [b, [lq, lk]] of LENGTHS.entries()) {
          if (lk === 0) continue;
          const { out, bound } = reference(
            slice(q, b, LQ, D, lq),
            slice(k, b, LK, D, lk),
            slice(v, b, LK, DV, lk),
            lq,
            lk,
          );
          const got = slice(padded, b, LQ, DV, LQ);
          for (let h = 0; h < H; h++) {
            for (let i = 0; i < lq * DV; i++) {
              const err = Math.abs(got[h * LQ * DV + i]! - out[h * lq * DV + i]!);
              expect(err).toBeLessThanOrEqual(bound[h * lq * DV + i]!);
              worst = Math.max(worst, err / bound[h * lq * DV + i]!);
            }
          }
        }
      }
      // The bound is the spec's worst case; a float32 softmax and matmul land far inside it.
      expect(worst).toBeLessThan(0.5);
    });

    it('leaks no tensor, forward or under tf.grad', () => {
      const { q, k, v, keyMask, queryMask } = paddedBatch(5);
      const t = {
        k: tf.tensor(k, [B, H, LK, D]),
        v: tf.tensor(v, [B, H, LK, DV]),
        keyMask: tf.tensor(keyMask, [B, LK], 'bool'),
        queryMask: tf.tensor(queryMask, [B, LQ], 'bool'),
      };
      const qt = tf.tensor(q, [B, H, LQ, D]);
      const before = tf.memory().numTensors;
      tf.dispose(attention({ ...t, q: qt }));
      const dq = tf.grad((x: tf.Tensor) => tf.sum(attention({ ...t, q: x })))(qt);
      expect(tf.memory().numTensors).toBe(before + 1);
      // The padded queries and the batch element without keys get no gradient.
      const g = dq.dataSync();
      for (const [b, [lq, lk]] of LENGTHS.entries()) {
        for (let h = 0; h < H; h++) {
          const from = ((b * H + h) * LQ + (lk === 0 ? 0 : lq)) * D;
          const to = ((b * H + h) * LQ + LQ) * D;
          expect(Array.from(g.subarray(from, to)).every((x) => x === 0)).toBe(true);
        }
      }
      tf.dispose([dq, qt, ...Object.values(t)]);
    });
  });
}
