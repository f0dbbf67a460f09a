// Times the fused kernels against tfjs's unmasked reductions and the composites on the wasm
// backend in Node (build the package first), and the embedding bag against tf.gather + maskedMean.
// Not a test: prints medians in ms.
//   node scripts/bench.mjs [rounds] [reducer,...,bag]
import {
  embeddingBag,
  MASKED_REDUCTIONS,
  maskedLogSumExp,
  maskedMax,
  maskedMean,
  maskedMin,
  maskedMoments,
  maskedSum,
} from '@masked-ops/core';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // built-in gradients, for tf.grad of the composites
import '../dist/index.js';

await tf.setBackend('wasm');
const rounds = Number(process.argv[2] ?? 60);
const only = process.argv[3]?.split(',');
const OPS = {
  sum: maskedSum,
  mean: maskedMean,
  max: maskedMax,
  min: maskedMin,
  logsumexp: maskedLogSumExp,
  moments: maskedMoments,
};
const UNMASKED = {
  sum: tf.sum,
  mean: tf.mean,
  max: tf.max,
  min: tf.min,
  logsumexp: tf.logSumExp,
  moments: tf.moments,
};

/** A result as a list of tensors (moments returns {mean, variance}). */
const outputs = (r) => (r instanceof tf.Tensor ? [r] : [r.mean, r.variance]);
/** What tf.grad differentiates: the sum of the outputs, so every output's gradient is paid. */
const loss = (r) => {
  const outs = outputs(r);
  return outs.length === 1 ? outs[0] : tf.addN(outs);
};

/**
 * The composite a user would write without the plugin (apps/demo's userComposite: NaN-free on
 * empty rows, forward and backward).
 */
function composite(reducer, x, mask, axis) {
  const m3 = tf.expandDims(mask, -1);
  const mf = tf.cast(m3, 'float32');
  if (reducer === 'sum' || reducer === 'mean') {
    const s = tf.sum(tf.mul(x, mf), axis);
    return reducer === 'sum' ? s : tf.div(s, tf.maximum(tf.sum(mf, axis), 1));
  }
  const mb = tf.broadcastTo(m3, x.shape);
  if (reducer === 'logsumexp') {
    const some = tf.greater(tf.sum(mf, axis, true), 0);
    const m = tf.where(some, tf.max(tf.where(mb, x, tf.fill(x.shape, -Infinity)), axis, true), 0);
    const s = tf.sum(tf.where(mb, tf.exp(tf.sub(x, m)), tf.zerosLike(x)), axis, true);
    const lse = tf.add(tf.log(tf.where(some, s, tf.onesLike(s))), m);
    return tf.squeeze(tf.where(some, lse, tf.fill(lse.shape, -Infinity)), [axis]);
  }
  if (reducer === 'moments') {
    const count = tf.maximum(tf.sum(mf, axis, true), 1);
    const mean = tf.div(tf.sum(tf.where(mb, x, tf.zerosLike(x)), axis, true), count);
    const deviation = tf.where(mb, tf.sub(x, mean), tf.zerosLike(x));
    const variance = tf.div(tf.sum(tf.square(deviation), axis, true), count);
    return { mean: tf.squeeze(mean, [axis]), variance: tf.squeeze(variance, [axis]) };
  }
  const fillValue = reducer === 'max' ? -Infinity : Infinity;
  const r = UNMASKED[reducer](tf.where(mb, x, tf.fill(x.shape, fillValue)), axis);
  const count = tf.sum(tf.cast(mask, 'float32'), axis);
  return tf.where(tf.greater(tf.expandDims(count, -1), 0), r, tf.zerosLike(r));
}

function median(f, n = rounds) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    // The wasm backend runs every kernel synchronously inside the call: nothing to wait for,
    // and reading a 13 MB dx back would time page faults of the copy, not the kernels.
    tf.tidy(() => {
      f();
    });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const shape = [256, 200, 64];
const x = tf.randomNormal(shape);
const mask = tf.less(tf.randomUniform(shape.slice(0, 2)), 0.5);
const dy = tf.ones([256, 64]);
const fmt = (v) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(2)} ms`);
const ratio = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? 'n/a' : `${(a / b).toFixed(1)}x`);
console.log(`x [${shape}] axis 1, mask density 0.5, ${rounds} rounds, median`);
console.log(
  'op | fused fwd | tf unmasked fwd | composite fwd | composite / fused | fused grad | composite grad',
);
for (const spec of MASKED_REDUCTIONS) {
  const r = spec.reducer;
  if (only && !only.includes(r)) continue;
  const op = OPS[r];
  const fused = median(() => op(x, mask, 1));
  const plain = median(() => UNMASKED[r](x, 1));
  const comp = median(() => composite(r, x, mask, 1));
  const fusedGrad = median(() => tf.grad((v) => loss(op(v, mask, 1)))(x, dy));
  let compGrad = Number.NaN;
  try {
    compGrad = median(() => tf.grad((v) => loss(composite(r, v, mask, 1)))(x, dy));
  } catch {
    // tfjs's gradient of max/min over `where` needs gradients tfjs does not register (Equal).
  }
  const cells = [fmt(fused), fmt(plain), fmt(comp), ratio(comp, fused), fmt(fusedGrad)];
  console.log(`${spec.op} | ${[...cells, fmt(compGrad)].join(' | ')}`);
}

if (only === undefined || only.includes('bag')) {
  // Issue 13's shapes, mode mean, ~20% padding (id 0): the fused bag against our own two-step,
  // tf.gather then maskedMean over the bag axis with the mask ids != padding (which materialises
  // [batch, bagLen, dim]), and its two parts alone; forward, and tf.grad with respect to the table
  // (the two-step's goes through tf.gather's gradient, UnsortedSegmentSum, registered by this
  // package on wasm). tfjs-wasm's GatherV2 is slow at these shapes: fewer rounds for it.
  const PAD = 0;
  const slow = Math.min(rounds, 10);
  console.log('\nembeddingBag, mode mean, ~20% padding (id 0)');
  console.log(
    'shape | fused fwd | gather + maskedMean | speed-up | gather alone | maskedMean alone | fused grad | two-step grad | speed-up',
  );
  for (const [batch, bagLen, dim, vocab] of [
    [1024, 50, 16, 100000],
    [256, 200, 64, 10000],
  ]) {
    const weight = tf.randomNormal([vocab, dim]);
    const ids = tf.tidy(() => {
      const real = tf.randomUniform([batch, bagLen], 1, vocab, 'int32');
      return tf.where(tf.less(tf.randomUniform([batch, bagLen]), 0.2), tf.zerosLike(real), real);
    });
    const notPad = tf.notEqual(ids, tf.scalar(PAD, 'int32'));
    const gathered = tf.gather(weight, ids);
    const dyBag = tf.ones([batch, dim]);
    const fusedOp = (w) => embeddingBag(w, ids, { mode: 'mean', paddingId: PAD });
    const twoStep = (w) =>
      maskedMean(tf.gather(w, ids), tf.notEqual(ids, tf.scalar(PAD, 'int32')), 1);
    const fwd = median(() => fusedOp(weight));
    const fwd2 = median(() => twoStep(weight), slow);
    const gatherOnly = median(() => tf.gather(weight, ids), slow);
    const meanOnly = median(() => maskedMean(gathered, notPad, 1));
    const bwd = median(() => tf.grad(fusedOp)(weight, dyBag));
    const bwd2 = median(() => tf.grad(twoStep)(weight, dyBag), slow);
    const name = `[${batch} x ${bagLen}, dim ${dim}, vocab ${vocab}]`;
    const cells = [fmt(fwd), fmt(fwd2), ratio(fwd2, fwd), fmt(gatherOnly), fmt(meanOnly)];
    console.log(`${name} | ${[...cells, fmt(bwd), fmt(bwd2), ratio(bwd2, bwd)].join(' | ')}`);
    tf.dispose([weight, ids, notPad, gathered, dyBag]);
  }
}

if (only === undefined) {
  // The README's per-token loss: loss [4096, 4096], full mask, default axis (every axis).
  const perToken = tf.randomUniform([4096, 4096]);
  const full = tf.ones([4096, 4096], 'bool');
  console.log('\nper-token loss [4096, 4096], full mask, default axis');
  console.log(`maskedMean ${fmt(median(() => maskedMean(perToken, full)))}`);
  console.log(`maskedSum  ${fmt(median(() => maskedSum(perToken, full)))}`);
  console.log(`tf.mean    ${fmt(median(() => tf.mean(perToken)))}`);
  console.log(`tf.sum     ${fmt(median(() => tf.sum(perToken)))}`);
}
