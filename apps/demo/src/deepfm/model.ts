import { embeddingBag } from '@masked-ops/core';
import { seededRandom } from '@masked-ops/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { FIELDS, PADDING_ID, TABLE_ROWS } from './data.js';

/**
 * DeepFM (Guo et al. 2017) and its logistic-regression baseline, written with plain tfjs variables
 * and @masked-ops/core's `embeddingBag`.
 *
 * Input: one padded bag per (impression, field), ids `[batch * F, BAG_LEN]` into one table shared by
 * the F fields (data.ts's `encodeRows`; row 0 is the padding). A multi-valued field (the user's
 * interests) is a bag of its ids, a single-valued one (the age bucket) a bag of one; the padding is
 * skipped, so `embeddingBag(table, ids, {mode: 'mean', paddingId: 0})` gives each field's pooled
 * embedding in one call, without materialising `[batch, F, BAG_LEN, k]` (the gather + masked mean a
 * model would otherwise need). One call for every field keeps a training step at a few dozen kernels
 * (a call per field and a table per field would triple them and the optimizer's work), and keeps the
 * model off tfjs's `tf.gather` gradient, which needs `UnsortedSegmentSum`.
 *
 * - first order (both models): a bias plus a learned weight per id (a 1-wide table, pooled the same
 *   way: a multi-valued field contributes the mean of its ids' weights), summed over the fields;
 * - FM (DeepFM): the second-order term over the k-wide field embeddings e_f, by the identity
 *   sum_{f<g} <e_f, e_g> = 0.5 * sum_k ((sum_f e_f)^2 - sum_f e_f^2), linear in the fields;
 * - deep (DeepFM): an MLP (ReLU) over the concatenated field embeddings `[batch, F * k]` (a reshape
 *   of the bag output: each impression's fields are consecutive bags), sharing them with FM.
 *
 * The logit is the sum of the parts. Initial values come from a seeded generator (the same numbers
 * on every backend), so a run is reproducible.
 */
export type ModelKind = 'deepfm' | 'lr';

export interface ModelConfig {
  kind: ModelKind;
  /** Width k of the field embeddings (DeepFM). */
  embeddingDim: number;
  /** Widths of the MLP's hidden layers (DeepFM); a last layer of width 1 follows. */
  hidden: number[];
  /** Seed of the initial values. */
  seed: number;
}

export interface ClickModel {
  config: ModelConfig;
  /** Every trainable variable (what the optimizer updates). */
  variables: tf.Variable[];
  /** Logits `[batch]` of padded bags `[batch * F, BAG_LEN]` (int32). */
  logits(ids: tf.Tensor2D): tf.Tensor1D;
  dispose(): void;
}

/**
 * Each field's pooled row of `table` (width w), impression by impression: `[batch, F * w]` from
 * bags `[batch * F, BAG_LEN]` (each impression's F bags are consecutive, so this is a reshape).
 */
export const fieldRows = (table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const pooled = embeddingBag(table, ids, { mode: 'mean', paddingId: PADDING_ID });
    return tf.reshape(pooled, [-1, FIELDS.length * table.shape[1]]) as tf.Tensor2D;
  });

/**
 * `[F * k, k]`: F identity matrices stacked, so that `matMul(e, stack)` is the sum of the F field
 * embeddings of `e` `[batch, F * k]`. A matmul rather than `tf.sum` over a `[batch, F, k]` view:
 * tfjs-backend-cpu computes that sum's gradient as a 3-D broadcasting multiply on its slow generic
 * path, which alone took a quarter of a training step.
 */
export const fieldSum = (fields: number, k: number): tf.Tensor2D =>
  tf.tidy(() => tf.tile(tf.eye(k), [fields, 1]) as tf.Tensor2D);

/**
 * FM's second-order term `[batch]` of field embeddings `e` `[batch, F * k]` (`stack` from
 * `fieldSum`): 0.5 * sum_k ((sum_f e_f)^2 - sum_f e_f^2), which equals the sum over field pairs
 * f < g of <e_f, e_g>.
 */
export const fmInteraction = (e: tf.Tensor2D, stack: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const squareOfSum = tf.sum(tf.square(tf.matMul(e, stack)), 1);
    const sumOfSquares = tf.sum(tf.square(e), 1);
    return tf.mul(0.5, tf.sub(squareOfSum, sumOfSquares)) as tf.Tensor1D;
  });

export function createModel(config: ModelConfig): ClickModel {
  const rand = seededRandom(config.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  // Unnamed: tfjs names variables uniquely (two models may live side by side).
  const variable = (shape: number[], value: () => number): tf.Variable => {
    const size = shape.reduce((a, d) => a * d, 1);
    const initial = tf.tensor(Float32Array.from({ length: size }, value), shape);
    const v = tf.variable(initial);
    initial.dispose();
    return v;
  };
  const bias = variable([1], () => 0);
  const weights = variable([TABLE_ROWS, 1], () => 0);
  const variables: tf.Variable[] = [bias, weights];
  let embeddings: tf.Variable | undefined;
  let stack: tf.Tensor2D | undefined;
  const dense: { w: tf.Variable; b: tf.Variable }[] = [];
  if (config.kind === 'deepfm') {
    const k = config.embeddingDim;
    embeddings = variable([TABLE_ROWS, k], () => 0.1 * normal());
    stack = fieldSum(FIELDS.length, k);
    const widths = [FIELDS.length * k, ...config.hidden, 1];
    for (let l = 0; l + 1 < widths.length; l++) {
      const [fanIn, fanOut] = [widths[l]!, widths[l + 1]!];
      // Glorot uniform, as tfjs-layers' Dense.
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      dense.push({
        w: variable([fanIn, fanOut], () => limit * (2 * rand() - 1)),
        b: variable([fanOut], () => 0),
      });
    }
    variables.push(embeddings, ...dense.flatMap((d) => [d.w, d.b]));
  }
  return {
    config,
    variables,
    logits: (ids) =>
      tf.tidy(() => {
        const firstOrder = tf.sum(fieldRows(weights as tf.Tensor2D, ids), 1);
        let logit = tf.add(firstOrder, bias);
        if (embeddings && stack) {
          const fields = fieldRows(embeddings as tf.Tensor2D, ids);
          const fm = fmInteraction(fields, stack);
          let h: tf.Tensor = fields;
          for (const [l, { w, b }] of dense.entries()) {
            h = tf.add(tf.matMul(h, w), b);
            if (l + 1 < dense.length) h = tf.relu(h);
          }
          logit = tf.addN([logit, fm, tf.reshape(h, [-1])]);
        }
        return logit as tf.Tensor1D;
      }),
    dispose: () => tf.dispose([...variables, ...(stack ? [stack] : [])]),
  };
}
