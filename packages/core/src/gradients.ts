import {
  div,
  engine,
  exp,
  type GradConfig,
  getBackend,
  getKernel,
  logicalAnd,
  mul,
  neg,
  notEqual,
  reshape,
  scalar,
  sub,
  type Tensor,
  tidy,
  where,
  zeros,
  zerosLike,
} from '@tensorflow/tfjs-core';
import {
  compositeMaskedReduceGrad,
  maskToRank,
  tiedPositions,
  validCounts,
} from './fallback/composite.js';
import { asReduceAttrs, asReduceGradAttrs } from './kernels.js';
import { maskedMean, maskedSum } from './ops/index.js';
import type { MaskedReduceGradAttrs, MaskedReduction, ReducerName } from './ops/table.js';

/** The name of the gradient kernel's input carrying the cotangent of output `i`. */
export const cotangentName = (i: number): string => (i === 0 ? 'dy' : `dy${i}`);

/**
 * dx of a masked reduction (docs/SPEC.md "The ops"): the cotangent of each output (`dy`, or one
 * per output for a several-output row; missing ones count as 0) in the output layout (with or
 * without keepDims), the bool mask, the normalised axes, and x and the forward output y where the
 * row's gradient reads them. Runs the backend's gradient kernel when one is registered, else the
 * composite formula; neither needs a built-in gradient to be registered.
 */
export function maskedReduceGradient(
  spec: MaskedReduction,
  dy: Tensor | readonly Tensor[],
  mask: Tensor,
  axis: number[],
  keepDims: boolean,
  x?: Tensor,
  y?: Tensor,
): Tensor {
  // A sparse array is allowed: a missing cotangent is 0 (the fallback passes one at a time).
  const given = Array.isArray(dy) ? (dy as readonly Tensor[]) : [dy as Tensor];
  const first = given.find((d) => d !== undefined)!;
  const k = mask.rank;
  // x = [...mask dims, ...trailing dims]; the trailing dims sit at the end of dy in either layout.
  const xShape = x?.shape ?? [...mask.shape, ...first.shape.slice(keepDims ? k : k - axis.length)];
  const keepShape = xShape.map((d, i) => (axis.includes(i) ? 1 : d));
  return tidy(() => {
    const dys = spec.outputs.map((_, i) =>
      given[i] === undefined ? zeros(keepShape) : reshape(given[i]!, keepShape),
    );
    const needs = spec.gradInputs;
    const xIn = needs.includes('x') ? x : undefined;
    const yIn = needs.includes('y') && y !== undefined ? reshape(y, keepShape) : undefined;
    if (getKernel(spec.gradKernelName, getBackend()) === undefined) {
      return compositeMaskedReduceGrad(spec.reducer, dys, mask, axis, xShape, xIn, yIn);
    }
    const inputs: Record<string, Tensor> = { mask };
    dys.forEach((d, i) => {
      inputs[cotangentName(i)] = d;
    });
    if (xIn !== undefined) inputs['x'] = xIn;
    if (yIn !== undefined) inputs['y'] = yIn;
    const attrs: MaskedReduceGradAttrs = { axis, xShape };
    return engine().runKernel(spec.gradKernelName, inputs, { ...attrs }) as Tensor;
  });
}

/** What the gradient kernel's own gradient (double backprop) sees. */
interface SecondOrderArgs {
  /** The cotangent of dx (x's shape). */
  ddx: Tensor;
  /** The bool mask (mask shape). */
  mask: Tensor;
  axis: number[];
  /** The gradient kernel's inputs, where the row saves them (keepDims layout except x). */
  dys: Tensor[];
  x?: Tensor;
  y?: Tensor;
}

/**
 * The gradient of each gradient kernel's inputs (docs/SPEC.md, after the table of ops). Every dx
 * is linear in its dys, and the adjoint applied to ddx is again a masked reduction in dy's
 * keepDims layout. With respect to x and y: 0 for sum/mean/max/min (piecewise constant in x);
 * the derivative of the formula for logsumexp and moments. Names absent here get zeros.
 */
type SecondOrder = (a: SecondOrderArgs) => Record<string, () => Tensor>;

/** max and min: the mean of ddx over the tied valid positions (a full-shape mask). */
const tiedMean: SecondOrder = ({ ddx, mask, axis, x, y }) => ({
  dy: () => maskedMean(ddx, tiedPositions(maskToRank(mask, ddx.rank), x!, y!), axis, true),
});

/** dx = dy * e with e = exp(x - y) where valid and y != -Inf, else 0. */
const logSumExpSecondOrder: SecondOrder = ({ ddx, mask, axis, dys, x, y }) => {
  const live = logicalAnd(
    maskToRank(mask, ddx.rank),
    notEqual(y!, scalar(Number.NEGATIVE_INFINITY)),
  );
  const e = () => where(live, exp(sub(x!, y!)), zeros(ddx.shape));
  const onLive = (t: Tensor) => where(live, t, zeros(ddx.shape));
  const ddy = () => maskedSum(mul(ddx, e()), mask, axis, true);
  return {
    dy: ddy,
    x: () => onLive(mul(mul(ddx, dys[0]!), e())),
    y: () => neg(mul(dys[0]!, ddy())),
  };
};

/** dx = (dy + 2 dy1 (x - y)) / count where valid. */
const momentsSecondOrder: SecondOrder = ({ ddx, mask, axis, dys, x, y }) => {
  const m = maskToRank(mask, ddx.rank);
  const twice = (t: Tensor) => mul(scalar(2), t);
  return {
    dy: () => maskedMean(ddx, mask, axis, true),
    dy1: () => twice(maskedMean(mul(ddx, sub(x!, y!)), mask, axis, true)),
    x: () => where(m, mul(ddx, twice(mul(dys[1]!, divCounts(m, axis)))), zeros(ddx.shape)),
    y: () => neg(twice(mul(dys[1]!, maskedMean(ddx, mask, axis, true)))),
  };
};

/** 1 / count per slice (keepDims layout); Inf on empty slices, which `where` then drops. */
const divCounts = (m: Tensor, axis: number[]): Tensor =>
  tidy(() => {
    const counts = validCounts(m, axis, true);
    return where(notEqual(counts, scalar(0)), div(scalar(1), counts), zerosLike(counts));
  });

const SECOND_ORDER: Record<ReducerName, SecondOrder> = {
  sum: ({ ddx, mask, axis }) => ({ dy: () => maskedSum(ddx, mask, axis, true) }),
  mean: ({ ddx, mask, axis }) => ({ dy: () => maskedMean(ddx, mask, axis, true) }),
  max: tiedMean,
  min: tiedMean,
  logsumexp: logSumExpSecondOrder,
  moments: momentsSecondOrder,
};

/** Rows whose gradient kernel's own gradient reads the dys (the others are linear in dy only). */
const READS_DYS: ReadonlySet<ReducerName> = new Set(['logsumexp', 'moments']);

/**
 * The two gradient configs of a table row: the forward kernel's (dx from the gradient kernel; the
 * mask gets a float32 zero gradient of its own shape, like tf.where's condition) and the gradient
 * kernel's own (double backprop).
 */
export function gradConfigsFor(spec: MaskedReduction): GradConfig[] {
  const needsX = spec.gradInputs.includes('x');
  const needsY = spec.gradInputs.includes('y');
  const cotangents = spec.outputs.map((_, i) => cotangentName(i));
  const readsDys = READS_DYS.has(spec.reducer);
  const forward: GradConfig = {
    kernelName: spec.kernelName,
    inputsToSave: needsX ? ['mask', 'x'] : ['mask'],
    // Only the first output is ever read (y: the max, the log-sum-exp, the mean).
    outputsToSave: [needsY],
    gradFunc: (dy, saved, attrs) => {
      const [mask, ...rest] = saved as Tensor[];
      const x = needsX ? rest.shift() : undefined;
      const y = needsY ? rest.shift() : undefined;
      const { axis, keepDims } = asReduceAttrs(attrs);
      return {
        x: () => maskedReduceGradient(spec, dy, mask!, axis, keepDims, x, y),
        mask: () => zeros(mask!.shape, 'float32'),
      };
    },
  };
  const backward: GradConfig = {
    kernelName: spec.gradKernelName,
    inputsToSave: [...(readsDys ? cotangents : []), 'mask', ...spec.gradInputs],
    gradFunc: (ddx, saved, attrs) => {
      const rest = [...(saved as Tensor[])];
      const dys = readsDys ? rest.splice(0, cotangents.length) : [];
      const mask = rest.shift()!;
      const x = needsX ? rest.shift() : undefined;
      const y = needsY ? rest.shift() : undefined;
      const { axis } = asReduceGradAttrs(attrs);
      const own = SECOND_ORDER[spec.reducer]({ ddx: ddx as Tensor, mask, axis, dys, x, y });
      const zerosOf = (t: Tensor) => () => zeros(t.shape, 'float32');
      const grads: Record<string, () => Tensor> = { mask: zerosOf(mask) };
      for (const name of cotangents) grads[name] = own[name]!;
      if (x !== undefined) grads['x'] = own['x'] ?? zerosOf(x);
      if (y !== undefined) grads['y'] = own['y'] ?? zerosOf(y);
      return grads;
    },
  };
  return [forward, backward];
}
