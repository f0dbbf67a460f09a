import {
  engine,
  type GradConfig,
  getBackend,
  getKernel,
  reshape,
  type Tensor,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import { compositeMaskedReduceGrad, maskToRank, tiedPositions } from './fallback/composite.js';
import { asReduceAttrs, asReduceGradAttrs } from './kernels.js';
import { maskedMean, maskedSum } from './ops/index.js';
import type { MaskedReduceGradAttrs, MaskedReduction, ReducerName } from './ops/table.js';

/**
 * dx of a masked reduction (docs/SPEC.md "The ops"): `dy` in the output layout (with or without
 * keepDims), the bool mask, the normalised axes, and x and the forward output y where the row's
 * gradient reads them. Runs the backend's gradient kernel when one is registered, else the
 * composite formula; neither needs a built-in gradient to be registered.
 */
export function maskedReduceGradient(
  spec: MaskedReduction,
  dy: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
  x?: Tensor,
  y?: Tensor,
): Tensor {
  const k = mask.rank;
  // x = [...mask dims, ...trailing dims]; the trailing dims sit at the end of dy in either layout.
  const xShape = x?.shape ?? [...mask.shape, ...dy.shape.slice(keepDims ? k : k - axis.length)];
  const keepShape = xShape.map((d, i) => (axis.includes(i) ? 1 : d));
  return tidy(() => {
    const dyKeep = reshape(dy, keepShape);
    const needs = spec.gradInputs;
    const xIn = needs.includes('x') ? x : undefined;
    const yIn = needs.includes('y') && y !== undefined ? reshape(y, keepShape) : undefined;
    if (getKernel(spec.gradKernelName, getBackend()) === undefined) {
      return compositeMaskedReduceGrad(spec.reducer, dyKeep, mask, axis, xShape, xIn, yIn);
    }
    const inputs: Record<string, Tensor> = { dy: dyKeep, mask };
    if (xIn !== undefined) inputs['x'] = xIn;
    if (yIn !== undefined) inputs['y'] = yIn;
    const attrs: MaskedReduceGradAttrs = { axis, xShape };
    return engine().runKernel(spec.gradKernelName, inputs, { ...attrs }) as Tensor;
  });
}

/**
 * The adjoint of each gradient kernel with respect to dy, for double backprop. Every dx is linear
 * in dy, and its adjoint applied to ddx (x's shape) is again a masked reduction in dy's keepDims
 * layout: the masked sum (sum), the masked mean (mean), the mean over the tied valid positions
 * (max/min: dx = dy / ties there).
 */
type Adjoint = (ddx: Tensor, mask: Tensor, axis: number[], x?: Tensor, y?: Tensor) => Tensor;

/** max and min: the mean of ddx over the tied valid positions (a full-shape mask). */
const tiedMean: Adjoint = (ddx, mask, axis, x, y) =>
  maskedMean(ddx, tiedPositions(maskToRank(mask, ddx.rank), x!, y!), axis, true);

const ADJOINTS: Record<ReducerName, Adjoint> = {
  sum: (ddx, mask, axis) => maskedSum(ddx, mask, axis, true),
  mean: (ddx, mask, axis) => maskedMean(ddx, mask, axis, true),
  max: tiedMean,
  min: tiedMean,
};

/**
 * The two gradient configs of a table row: the forward kernel's (dx from the gradient kernel; the
 * mask gets a float32 zero gradient of its own shape, like tf.where's condition) and the gradient
 * kernel's own (double backprop; x and y get zeros: dx is piecewise constant in them).
 */
export function gradConfigsFor(spec: MaskedReduction): GradConfig[] {
  const needsX = spec.gradInputs.includes('x');
  const needsY = spec.gradInputs.includes('y');
  const forward: GradConfig = {
    kernelName: spec.kernelName,
    inputsToSave: needsX ? ['mask', 'x'] : ['mask'],
    outputsToSave: [needsY],
    gradFunc: (dy, saved, attrs) => {
      const [mask, ...rest] = saved as Tensor[];
      const x = needsX ? rest.shift() : undefined;
      const y = needsY ? rest.shift() : undefined;
      const { axis, keepDims } = asReduceAttrs(attrs);
      return {
        x: () => maskedReduceGradient(spec, dy as Tensor, mask!, axis, keepDims, x, y),
        mask: () => zeros(mask!.shape, 'float32'),
      };
    },
  };
  const backward: GradConfig = {
    kernelName: spec.gradKernelName,
    inputsToSave: ['mask', ...spec.gradInputs],
    gradFunc: (ddx, saved, attrs) => {
      const [mask, ...rest] = saved as Tensor[];
      const x = needsX ? rest.shift() : undefined;
      const y = needsY ? rest.shift() : undefined;
      const { axis } = asReduceGradAttrs(attrs);
      const grads: Record<string, () => Tensor> = {
        dy: () => ADJOINTS[spec.reducer](ddx as Tensor, mask!, axis, x, y),
        mask: () => zeros(mask!.shape, 'float32'),
      };
      if (x !== undefined) grads['x'] = () => zeros(x.shape, 'float32');
      if (y !== undefined) grads['y'] = () => zeros(y.shape, 'float32');
      return grads;
    },
  };
  return [forward, backward];
}
