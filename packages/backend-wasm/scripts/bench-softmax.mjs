// Times the fused masked softmaxes against the composite users write today and against tfjs's
// unmasked softmax on the wasm backend in Node (build the package first). Not a test: prints
// medians in ms and the ratios of issue 14's targets (fused >= 3x composite, >= tf.softmax).
//   node scripts/bench-softmax.mjs [rounds]
import { maskedLogSoftmax, maskedSoftmax } from '@masked-ops/core';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // built-in gradients, for tf.grad of tf.softmax and the composite
import '../dist/index.js';

await tf.setBackend('wasm');
const rounds = Number(process.argv[2] ?? 40);

/**
 * What users write without the plugin: -1e9 at masked logits, tfjs's softmax, then zeros across
 * rows with no valid position (else they come out uniform).
 */
function composite(x, mask, log) {
  const b = tf.broadcastTo(mask, x.shape);
  const y = (log ? tf.logSoftmax : tf.softmax)(tf.where(b, x, tf.scalar(-1e9)));
  const anyValid = tf.any(mask, -1, true);
  return tf.where(anyValid, y, tf.scalar(0));
}

function median(f) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    // The wasm backend runs every kernel synchronously inside the call: nothing to wait for.
    tf.tidy(() => {
      f();
    });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const fmt = (v) => `${v.toFixed(2)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const CASES = [
  {
    name: 'logits [8,12,128,128], key padding [8,1,1,128]',
    shape: [8, 12, 128, 128],
    mask: 'keys',
  },
  // As `pnpm bench`: each row keeps a prefix of random length (padded sequences).
  { name: 'logits [64,4096], full mask of row lengths', shape: [64, 4096], mask: 'lengths' },
  // The worst case for the kernel: no step of 16 is all padding, nothing to skip.
  { name: 'logits [64,4096], full mask, 80% valid at random', shape: [64, 4096], mask: 'random' },
];

/** Each of the 64 rows keeps its first 0..4096 positions. */
function rowLengths(shape) {
  const lengths = tf.randomUniform([shape[0], 1], 0, shape[1] + 1, 'int32');
  return tf.less(tf.range(0, shape[1], 1, 'int32'), lengths);
}

console.log(`wasm backend in Node, ${rounds} rounds, median`);
console.log('case | op | fused | composite | tf unmasked | composite / fused | unmasked / fused');
for (const c of CASES) {
  const x = tf.randomNormal(c.shape, 0, 3);
  const dy = tf.randomNormal(c.shape);
  const mask =
    c.mask === 'keys'
      ? tf.tidy(() => {
          // Each batch keeps its first 40..128 keys.
          const lengths = tf.tensor1d([128, 100, 77, 40, 128, 64, 90, 113], 'int32');
          const keys = tf.range(0, 128, 1, 'int32');
          return tf.reshape(
            tf.less(tf.expandDims(keys, 0), tf.expandDims(lengths, 1)),
            [8, 1, 1, 128],
          );
        })
      : c.mask === 'lengths'
        ? tf.tidy(() => rowLengths(c.shape))
        : tf.tidy(() => tf.less(tf.randomUniform(c.shape), 0.8));
  for (const [label, op, log] of [
    ['softmax', maskedSoftmax, false],
    ['logSoftmax', maskedLogSoftmax, true],
  ]) {
    const unmasked = log ? tf.logSoftmax : tf.softmax;
    const rows = [
      [
        'fwd',
        median(() => op(x, mask)),
        median(() => composite(x, mask, log)),
        median(() => unmasked(x)),
      ],
      [
        'grad',
        median(() => tf.grad((v) => op(v, mask))(x, dy)),
        median(() => tf.grad((v) => composite(v, mask, log))(x, dy)),
        median(() => tf.grad((v) => unmasked(v))(x, dy)),
      ],
    ];
    for (const [what, fused, comp, plain] of rows) {
      console.log(
        `${c.name} | ${label} ${what} | ${fmt(fused)} | ${fmt(comp)} | ${fmt(plain)} | ${ratio(comp, fused)} | ${ratio(plain, fused)}`,
      );
    }
  }
  tf.dispose([x, dy, mask]);
}
