import {
  asSoftmaxAttrs,
  type MaskedSoftmaxGradInputs,
  type MaskedSoftmaxInputs,
  maskOffset,
  type SoftmaxGeometry,
  softmaxGeometry,
} from '@masked-ops/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { fastExpNoFlush } from './exp.js';

/**
 * The masked softmaxes on 'cpu' (docs/SPEC.md "Masked softmax"): one forward driver and one
 * gradient driver, both parameterised by `log`, each walking the rows along the axis in place.
 * The mask is read through its broadcast strides (never copied), masked values are never read
 * into the arithmetic, and each row sum is accumulated in float64.
 */

type Cpu = MathBackendCPU;
const values = (cpu: Cpu, t: TensorInfo) => cpu.data.get(t.dataId).values;

/**
 * Calls `visit(x0, stride, m0)` for every row: its first logits index, the logits' stride along
 * the row, and its first mask offset (the mask's stride along the row is `g.maskAxisStride`).
 */
function forEachRow(
  g: SoftmaxGeometry,
  visit: (x0: number, stride: number, m0: number) => void,
): void {
  const { outer, n, inner, outerDims, innerDims } = g;
  if (inner === 1) {
    // Axis last (attention scores): contiguous rows, one mask base per row. The mask base only
    // changes when the outer index crosses a dim, but maskOffset is a few integer ops per row
    // of n elements, so it is not worth an odometer here.
    for (let o = 0; o < outer; o++) visit(o * n, 1, maskOffset(outerDims, o));
    return;
  }
  for (let o = 0; o < outer; o++) {
    const xo = o * n * inner;
    const mo = maskOffset(outerDims, o);
    for (let i = 0; i < inner; i++) visit(xo + i, inner, mo + maskOffset(innerDims, i));
  }
}

/**
 * One row of the forward pass into `out` (zero-filled by the caller, so a softmax leaves masked
 * positions and empty rows alone). Pass 1: count, max and non-finite checks over the valid
 * positions; pass 2: exp(x - max) (written to `out` for the softmax, so it is computed once) and
 * its float64 sum; pass 3: the scale by 1/sum (softmax) or (x - max) - log(sum) (log).
 */
function forwardRow(
  log: boolean,
  xs: Float32Array,
  valid: Uint8Array,
  out: Float32Array,
  x0: number,
  stride: number,
  n: number,
  m0: number,
  ms: number,
): void {
  const xEnd = x0 + n * stride;
  let count = 0;
  let top = Number.NEGATIVE_INFINITY;
  let nan = false;
  for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
    if (valid[mi] === 0) continue;
    count++;
    const v = xs[xi]!;
    if (v > top) top = v;
    else if (Number.isNaN(v)) nan = true;
  }
  if (count === 0) return; // no valid position: zeros in both ops
  const masked = log ? Number.NEGATIVE_INFINITY : 0;
  if (nan || top === Number.POSITIVE_INFINITY || top === Number.NEGATIVE_INFINITY) {
    // NaN or +Inf: valid positions NaN. Every valid -Inf: valid positions 0 / -Inf.
    const atValid = top === Number.NEGATIVE_INFINITY && !nan ? masked : Number.NaN;
    if (atValid === 0) return;
    for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
      out[xi] = valid[mi] === 0 ? masked : atValid;
    }
    return;
  }
  let sum = 0; // float64: the bound is relative to each (possibly tiny) probability
  if (!log) {
    for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
      if (valid[mi] === 0) continue;
      const e = fastExpNoFlush(xs[xi]! - top);
      out[xi] = e;
      sum += e;
    }
    // Masked positions hold 0, so scaling the whole row needs no mask read. sum >= 1 (the max's
    // own term), so 1/sum is finite.
    const inv = 1 / sum;
    for (let xi = x0; xi < xEnd; xi += stride) out[xi]! *= inv;
    return;
  }
  for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
    if (valid[mi] !== 0) sum += fastExpNoFlush(xs[xi]! - top);
  }
  const lse = Math.log(sum);
  for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
    // (x - max) - lse, not x - (max + lse): the latter loses |max| * 2^-53 when max is huge.
    out[xi] = valid[mi] === 0 ? masked : xs[xi]! - top - lse;
  }
}

/**
 * One row of the gradient into `dx` (zero-filled: masked positions and empty rows stay 0). Only
 * valid positions enter the sum, so NaN in dy or y at masked positions cannot leak.
 * softmax: dx = y * (dy - sum(y * dy)); log: dx = dy - exp(y) * sum(dy).
 */
function gradRow(
  log: boolean,
  dys: Float32Array,
  ys: Float32Array,
  valid: Uint8Array,
  dx: Float32Array,
  x0: number,
  stride: number,
  n: number,
  m0: number,
  ms: number,
): void {
  const xEnd = x0 + n * stride;
  let sum = 0;
  for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
    if (valid[mi] !== 0) sum += log ? dys[xi]! : ys[xi]! * dys[xi]!;
  }
  for (let xi = x0, mi = m0; xi < xEnd; xi += stride, mi += ms) {
    if (valid[mi] === 0) continue;
    dx[xi] = log ? dys[xi]! - fastExpNoFlush(ys[xi]!) * sum : ys[xi]! * (dys[xi]! - sum);
  }
}

/** The forward kernel of a masked softmax (`log` false) or log-softmax (`log` true). */
export function maskedSoftmaxCpu(log: boolean): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { logits, mask } = inputs as MaskedSoftmaxInputs;
    const cpu = backend as Cpu;
    const g = softmaxGeometry(logits.shape, mask.shape, asSoftmaxAttrs(attrs).axis);
    const xs = values(cpu, logits) as Float32Array;
    const valid = values(cpu, mask) as Uint8Array;
    const out = new Float32Array(xs.length);
    const { n, maskAxisStride: ms } = g;
    forEachRow(g, (x0, stride, m0) => forwardRow(log, xs, valid, out, x0, stride, n, m0, ms));
    return cpu.makeTensorInfo(logits.shape, 'float32', out);
  };
}

/** The gradient kernel of a masked softmax or log-softmax, from its forward output `y`. */
export function maskedSoftmaxGradCpu(log: boolean): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo => {
    const { dy, mask, y } = inputs as MaskedSoftmaxGradInputs;
    const cpu = backend as Cpu;
    const g = softmaxGeometry(y.shape, mask.shape, asSoftmaxAttrs(attrs).axis);
    const dys = values(cpu, dy) as Float32Array;
    const ys = values(cpu, y) as Float32Array;
    const valid = values(cpu, mask) as Uint8Array;
    const dx = new Float32Array(ys.length);
    const { n, maskAxisStride: ms } = g;
    forEachRow(g, (x0, stride, m0) => gradRow(log, dys, ys, valid, dx, x0, stride, n, m0, ms));
    return cpu.makeTensorInfo(y.shape, 'float32', dx);
  };
}
