import { engine, getBackend, getKernel, reshape, type Tensor, tidy } from '@tensorflow/tfjs-core';
import { compositeMaskedMeanGrad } from './composite.js';
import { MaskedMeanGrad, type MaskedMeanGradAttrs } from './kernel_names.js';

/**
 * dx of a masked mean: `dy` (output layout, with or without keepDims), the bool mask and the
 * normalised axes. Runs the backend's `MaskedMeanGrad` kernel when one is registered, else the
 * composite formula; neither needs a built-in gradient to be registered.
 */
export function maskedMeanGradient(
  dy: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
): Tensor {
  const k = mask.rank;
  // x = [...mask dims, ...trailing dims]; the trailing dims sit at the end of dy in either layout.
  const trailing = dy.shape.slice(keepDims ? k : k - axis.length);
  const xShape = [...mask.shape, ...trailing];
  const keepShape = xShape.map((d, i) => (axis.includes(i) ? 1 : d));
  return tidy(() => {
    const dyKeep = reshape(dy, keepShape);
    if (getKernel(MaskedMeanGrad, getBackend()) === undefined) {
      return compositeMaskedMeanGrad(dyKeep, mask, axis, xShape);
    }
    const attrs: MaskedMeanGradAttrs = { axis, xShape };
    return engine().runKernel(MaskedMeanGrad, { dy: dyKeep, mask }, { ...attrs }) as Tensor;
  });
}
