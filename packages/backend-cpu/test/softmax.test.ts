// The fused masked softmax kernels on tfjs-core alone (no built-in gradient registered).
import '@tensorflow/tfjs-backend-cpu';
import '../src/index.js';
import { maskedSoftmax } from '@masked-ops/core';
import { defineSoftmaxSuite } from '@masked-ops/core/testing';
import { dispose, grad, memory, setBackend, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

defineSoftmaxSuite({ describe, it }, { path: 'fused' });

// The kit checks that bad calls leak nothing when made directly; here the same inside tf.grad,
// whose tape is open when the op throws.
describe('a failed masked softmax inside tf.grad', () => {
  it('throws the op error and leaks nothing', () => {
    const logits = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const badMask = tensor([1, 0], [2], 'bool'); // does not broadcast to [2, 3]
    const before = memory().numTensors;
    expect(() => grad((l: Tensor) => maskedSoftmax(l, badMask))(logits)).toThrow(
      /^maskedSoftmax: mask.shape does not broadcast/,
    );
    expect(memory().numTensors).toBe(before);
    dispose([logits, badMask]);
  });
});
