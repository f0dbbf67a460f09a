// Times the fused embedding bag on the cpu backend in Node against what users write without it
// (build the package first: pnpm build). Not a test: prints medians in ms.
//   node scripts/bench-bag.mjs [rounds]
// Forward: embeddingBag (mode mean, ~20% padding) vs tf.gather + maskedMean (the mask made
// beforehand). Weight gradient: the EmbeddingBagGrad kernel, and tf.grad of the whole fused op,
// vs tfjs's gather gradient, UnsortedSegmentSum. On cpu that makes one full pass over dy (and
// four temporaries of its size) per row of the table, about 0.5 s per row for [51200, 16]:
// hours for a whole table, so it is timed on a few rows and scaled linearly (its cost per row
// does not depend on the row count).
import { EMBEDDING_BAG, embeddingBag, maskedMean } from '@masked-ops/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // built-in gradients (GatherV2's), for tf.grad of tf.gather
import '../dist/index.js';

await tf.setBackend('cpu');
const rounds = Number(process.argv[2] ?? 20);
const SAMPLED_ROWS = 4;
const SHAPES = [
  { batch: 1024, bagLen: 50, dim: 16, vocab: 100_000 },
  { batch: 256, bagLen: 200, dim: 64, vocab: 10_000 },
];
const PAD = 0;

/** Median ms of `rounds` runs of each function, interleaved (fair under a noisy load). */
function time(fns, n = rounds) {
  const runs = fns.map(() => []);
  for (let i = 0; i < n + 2; i++) {
    fns.forEach((f, k) => {
      const t0 = performance.now();
      const r = f();
      for (const t of [r].flat()) t.dataSync();
      if (i >= 2) runs[k].push(performance.now() - t0); // two warm-up rounds
      tf.dispose(r);
    });
  }
  return runs.map((ts) => ts.sort((a, b) => a - b)[ts.length >> 1]);
}

const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
for (const { batch, bagLen, dim, vocab } of SHAPES) {
  const weight = tf.randomNormal([vocab, dim]);
  const ids = tf.tidy(() => {
    const raw = tf.randomUniform([batch, bagLen], 1, vocab, 'int32');
    return tf.where(tf.less(tf.randomUniform([batch, bagLen]), 0.2), tf.scalar(PAD, 'int32'), raw);
  });
  const mask = tf.notEqual(ids, PAD);
  const options = { mode: 'mean', paddingId: PAD };
  const dy = tf.randomNormal([batch, dim]);
  const dyGathered = tf.randomNormal([batch, bagLen, dim]);
  console.log(`ids [${batch},${bagLen}], dim ${dim}, vocab ${vocab}, mode mean, ~20% padding`);

  const [fused, twoStep] = time([
    () => embeddingBag(weight, ids, options),
    () => tf.tidy(() => maskedMean(tf.gather(weight, ids), mask, 1)),
  ]);
  console.log(
    `  forward: fused ${fmt(fused)}, gather + maskedMean ${fmt(twoStep)}: ${(twoStep / fused).toFixed(1)}x`,
  );

  // The gradient kernel alone, on the op's own flat ids and offsets.
  const flat = tf.reshape(ids, [batch * bagLen]);
  const offsets = tf.range(0, batch * bagLen + 1, bagLen, 'int32');
  const attrs = { ...options, numEmbeddings: vocab };
  const gradKernel = () =>
    tf.engine().runKernel(EMBEDDING_BAG.gradKernelName, { dy, ids: flat, offsets }, attrs);
  const [kernel, wholeGrad] = time([
    gradKernel,
    () => tf.grad((w) => embeddingBag(w, ids, options))(weight, dy),
  ]);

  // tfjs's gather gradient: UnsortedSegmentSum of dy over the ids, one pass per segment.
  const segIds = tf.reshape(ids, [batch * bagLen]);
  const dyFlat = tf.reshape(dyGathered, [batch * bagLen, dim]);
  const [sampled] = time([() => tf.unsortedSegmentSum(dyFlat, segIds, SAMPLED_ROWS)], 1);
  const gatherGrad = (sampled * vocab) / SAMPLED_ROWS;
  console.log(
    `  d weight: EmbeddingBagGrad ${fmt(kernel)}, tf.grad(embeddingBag) ${fmt(wholeGrad)} (forward included); ` +
      `tf.gather's gradient (UnsortedSegmentSum, scaled from ${SAMPLED_ROWS} rows) ${fmt(gatherGrad)}: ` +
      `${(gatherGrad / kernel).toFixed(0)}x the kernel, ${(gatherGrad / wholeGrad).toFixed(0)}x tf.grad`,
  );
  tf.dispose([weight, ids, mask, dy, dyGathered, flat, offsets, segIds, dyFlat]);
}
