// Times the fused kernels against tfjs's unmasked reductions and the composites on the wasm
// backend in Node (build the package first). Not a test: prints medians in ms.
//   node scripts/bench.mjs [rounds]
import { MASKED_REDUCTIONS, maskedMax, maskedMean, maskedMin, maskedSum } from '@masked-ops/core';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // built-in gradients, for tf.grad of the composites
import '../dist/index.js';

await tf.setBackend('wasm');
const rounds = Number(process.argv[2] ?? 60);
const OPS = { sum: maskedSum, mean: maskedMean, max: maskedMax, min: maskedMin };
const UNMASKED = { sum: tf.sum, mean: tf.mean, max: tf.max, min: tf.min };

/** The composite a user would write without the plugin. */
function composite(reducer, x, mask, axis) {
  const m3 = tf.expandDims(mask, -1);
  if (reducer === 'sum' || reducer === 'mean') {
    const mf = tf.cast(m3, 'float32');
    const s = tf.sum(tf.mul(x, mf), axis);
    return reducer === 'sum' ? s : tf.div(s, tf.maximum(tf.sum(mf, axis), 1));
  }
  const fillValue = reducer === 'max' ? -Infinity : Infinity;
  const r = UNMASKED[reducer](
    tf.where(tf.broadcastTo(m3, x.shape), x, tf.fill(x.shape, fillValue)),
    axis,
  );
  const count = tf.sum(tf.cast(mask, 'float32'), axis);
  return tf.where(tf.greater(tf.expandDims(count, -1), 0), r, tf.zerosLike(r));
}

function median(f) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
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
const dy = tf.randomNormal([256, 64]);
const fmt = (v) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(2)} ms`);
console.log(`x [${shape}] axis 1, mask density 0.5, ${rounds} rounds, median`);
console.log('op | fused fwd | tf unmasked fwd | composite fwd | fused grad | composite grad');
for (const spec of MASKED_REDUCTIONS) {
  const r = spec.reducer;
  const op = OPS[r];
  const fused = median(() => op(x, mask, 1));
  const plain = median(() => UNMASKED[r](x, 1));
  const comp = median(() => composite(r, x, mask, 1));
  const fusedGrad = median(() => tf.grad((v) => op(v, mask, 1))(x, dy));
  let compGrad = Number.NaN;
  try {
    compGrad = median(() => tf.grad((v) => composite(r, v, mask, 1))(x, dy));
  } catch {
    // tfjs's gradient of max/min over `where` needs gradients tfjs does not register (Equal).
  }
  console.log(`${spec.op} | ${[fused, plain, comp, fusedGrad, compGrad].map(fmt).join(' | ')}`);
}

// The README's per-token loss: loss [4096, 4096], full mask, default axis (every axis).
const loss = tf.randomUniform([4096, 4096]);
const full = tf.ones([4096, 4096], 'bool');
const rMedian = median;
console.log('\nper-token loss [4096, 4096], full mask, default axis');
console.log(`maskedMean ${fmt(rMedian(() => maskedMean(loss, full)))}`);
console.log(`maskedSum  ${fmt(rMedian(() => maskedSum(loss, full)))}`);
console.log(`tf.mean    ${fmt(rMedian(() => tf.mean(loss)))}`);
console.log(`tf.sum     ${fmt(rMedian(() => tf.sum(loss)))}`);
