import { maskedSoftmax } from '@masked-ops/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Scaled dot-product attention over padded sequences, with core's masked softmax:
 *
 *   out = maskedSoftmax(q · kᵀ / √d, mask) · v
 *
 * q `[B, H, Lq, d]`, k `[B, H, Lk, d]`, v `[B, H, Lk, dv]`; `keyMask` `[B, Lk]` (true = a real
 * key) and optionally `queryMask` `[B, Lq]` (true = a real query). The mask the softmax gets is
 * their broadcast AND, `[B, 1, Lq, Lk]` (or the key-padding mask `[B, 1, 1, Lk]` alone): it
 * broadcasts over the heads inside the kernel, no `[B, H, Lq, Lk]` copy. What masking gives here
 * that `-1e9` does not:
 *
 * - a padded key gets probability exactly 0, so a padded batch gives each real query exactly the
 *   output of its unpadded sequence (test/attention.test.ts checks it bitwise);
 * - a query with no valid key (a padded query, or a batch element without a real key) has a row
 *   of zeros, so its output is exactly 0, not the mean of the padding's values.
 */
export interface AttentionInputs {
  q: tf.Tensor;
  k: tf.Tensor;
  v: tf.Tensor;
  keyMask: tf.Tensor;
  queryMask?: tf.Tensor;
}

/** The softmax's mask: `[B, 1, 1, Lk]`, AND `[B, 1, Lq, 1]` when there is a query mask. */
export function attentionMask(keyMask: tf.Tensor, queryMask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [b, lk] = keyMask.shape as [number, number];
    const keys = tf.reshape(tf.cast(keyMask, 'bool'), [b, 1, 1, lk]);
    if (!queryMask) return keys;
    const lq = queryMask.shape[1]!;
    return tf.logicalAnd(keys, tf.reshape(tf.cast(queryMask, 'bool'), [b, 1, lq, 1]));
  });
}

/** `[B, H, Lq, dv]`: every real query's attention over the real keys; 0 where there is none. */
export function attention({ q, k, v, keyMask, queryMask }: AttentionInputs): tf.Tensor {
  return tf.tidy(() => {
    const d = q.shape.at(-1)!;
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
    const p = maskedSoftmax(scores, attentionMask(keyMask, queryMask));
    return tf.matMul(p, v);
  });
}
