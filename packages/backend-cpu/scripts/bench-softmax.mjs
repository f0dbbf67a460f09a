// Times the fused masked softmaxes on the cpu backend in Node against what users write without
// them, and against tfjs's unmasked softmax (build the package first: pnpm build). Not a test:
// prints medians in ms.
//   node scripts/bench-softmax.mjs [rounds]
// Composite: tf.softmax(tf.where(mask, x, -1e9)), then tf.where(anyValidRow, that, 0) so a row
// with no valid position is zeros (as the fused op gives). Forward, and tf.grad with a random dy
// (forward included).
import { MASKED_SOFTMAXES, maskedLogSoftmax, maskedSoftmax } from '@masked-ops/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // built-in gradients, for tf.grad of the composite and tf.softmax
import '../dist/index.js';

await tf.setBackend('cpu');
const rounds = Number(process.argv[2] ?? 10);
const OPS = { maskedSoftmax, maskedLogSoftmax };
const UNMASKED = { softmax: tf.softmax, logSoftmax: tf.logSoftmax };
const CASES = [
  {
    name: 'attention scores [8,12,128,128], key-padding mask [8,1,1,128]',
    logits: [8, 12, 128, 128],
    // Sequence b keeps its first 128 - 12 b keys (padding at the end, as tokenisers emit it).
    mask: () =>
      tf.tidy(() =>
        tf.less(
          tf.reshape(tf.range(0, 128), [1, 1, 1, 128]),
          tf.reshape(tf.range(128, 32, -12), [8, 1, 1, 1]),
        ),
      ),
  },
  {
    name: 'logits [64,4096], full mask [64,4096] (~20% masked)',
    logits: [64, 4096],
    mask: () => tf.tidy(() => tf.greater(tf.randomUniform([64, 4096]), 0.2)),
  },
];

/**
 * Median ms of up to `rounds` runs of each function, interleaved (fair under a noisy load), after
 * one warm-up run. A function stops once its runs add up to BUDGET_MS (with at least 3 runs): the
 * composites take seconds per call on cpu.
 */
const BUDGET_MS = 3000;
function time(fns, n = rounds) {
  const runs = fns.map(() => []);
  const spent = fns.map(() => 0);
  for (let i = 0; i <= n; i++) {
    fns.forEach((f, k) => {
      if (i > 3 && spent[k] > BUDGET_MS) return;
      const t0 = performance.now();
      const r = f();
      for (const t of [r].flat()) t.dataSync();
      const ms = performance.now() - t0;
      tf.dispose(r);
      if (i === 0) return; // warm-up
      runs[k].push(ms);
      spent[k] += ms;
    });
  }
  return runs.map((ts) => ts.sort((a, b) => a - b)[ts.length >> 1]);
}

const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(1)}x`;
for (const c of CASES) {
  const x = tf.randomNormal(c.logits, 0, 3);
  const mask = c.mask();
  const dy = tf.randomNormal(c.logits);
  console.log(c.name);
  for (const row of MASKED_SOFTMAXES) {
    const fused = (l) => OPS[row.op](l, mask);
    const unmasked = (l) => UNMASKED[row.unmasked](l);
    const composite = (l) =>
      tf.tidy(() => {
        const y = unmasked(tf.where(mask, l, tf.scalar(-1e9)));
        return tf.where(tf.any(mask, -1, true), y, tf.scalar(0));
      });
    const fns = [fused, composite, unmasked];
    const fwd = time(fns.map((f) => () => f(x)));
    const bwd = time(fns.map((f) => () => tf.grad(f)(x, dy)));
    for (const [what, [f, comp, plain]] of [
      ['forward', fwd],
      ['tf.grad', bwd],
    ]) {
      console.log(
        `  ${row.op} ${what}: fused ${fmt(f)}, composite ${fmt(comp)} (${ratio(comp, f)}), ` +
          `tf.${row.unmasked} ${fmt(plain)} (${ratio(plain, f)})`,
      );
    }
  }
  tf.dispose([x, mask, dy]);
}
