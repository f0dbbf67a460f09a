import { Tensor, version_core } from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';

/**
 * Throws a message that names the problem and its fix when a layer's `call` receives something
 * that is not a tensor of the tfjs-core this package uses.
 *
 * tfjs-layers calls `call` only with concrete tensors: for a SymbolicTensor, `Layer.apply` builds
 * the output shape without calling it. But `apply` tells the two apart with `instanceof
 * SymbolicTensor`, a plain class check, so a SymbolicTensor made by a second copy of tfjs-layers
 * (e.g. `@tensorflow/tfjs@4.21.0` beside a top-level tfjs-layers 4.22.0, where the app builds its
 * model with one copy and this package extends the other) is taken for a concrete tensor and
 * reaches `call`. Without this check tfjs then fails deep inside with "Argument 'x' passed to
 * 'mean' must be a Tensor or TensorLike, but got 'SymbolicTensor'". tfjs-core's `instanceof
 * Tensor` is duck-typed (it accepts tensors of every copy), so it rejects exactly the symbolic
 * ones.
 */
export function assertOwnTensor(x: unknown, layer: string): asserts x is Tensor {
  if (x instanceof Tensor) return;
  const kind =
    x !== null && typeof x === 'object' ? (x.constructor?.name ?? 'an object') : String(x);
  throw new Error(
    `${layer}: its input is a ${kind} that the @tensorflow/tfjs-layers copy @masked-ops/layers ` +
      `extends (tfjs-layers ${version_layers}, tfjs-core ${version_core}) does not recognise: the ` +
      'app loads two copies of @tensorflow/tfjs-layers (usually with two of @tensorflow/tfjs-core), ' +
      'builds its model with one, and this layer comes from the other. An app must load exactly one copy: run ' +
      '`npm ls @tensorflow/tfjs-layers @tensorflow/tfjs-core` and align the versions of ' +
      '@tensorflow/tfjs, @tensorflow/tfjs-layers, @tensorflow/tfjs-core and the backends so that ' +
      `they dedupe to one (e.g. all ${version_layers}).`,
  );
}
