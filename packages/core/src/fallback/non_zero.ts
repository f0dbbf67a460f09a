import {
  customGrad,
  type GradSaveFunc,
  notEqual,
  scalar,
  type Tensor,
  zeros,
} from '@tensorflow/tfjs-core';

/**
 * `t != 0` as a bool tensor (NaN counts as non-zero, as docs/SPEC.md says of masks) with a zero
 * gradient: tfjs registers no gradient for NotEqual, so a tape through it (`tf.grads` with
 * respect to a float or int mask, or double backprop through a formula that tests a cotangent)
 * would otherwise throw.
 */
export const nonZero = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
  const t = inputs[0] as Tensor;
  return {
    value: notEqual(t, scalar(0, t.dtype)),
    gradFunc: () => zeros(t.shape, 'float32'),
  };
}) as (t: Tensor) => Tensor;
