import {
  broadcastTo,
  divNoNan,
  equal,
  exp,
  isNaN as isNaNOp,
  log,
  max,
  mul,
  scalar,
  sub,
  sum,
  type Tensor,
  tidy,
  where,
  zeros,
} from '@tensorflow/tfjs-core';

/**
 * The masked softmaxes and their gradients from built-in ops, for backends without a plugin
 * kernel (docs/SPEC.md "Masked softmax"). Masked positions are selected away (`where`), never
 * multiplied by 0, so NaN/Inf there never leak. The mask is broadcast here (the kernels read it
 * with stride 0). NaN is made explicit wherever `exp` meets one: WGSL's exp(NaN) on webgpu
 * (SwiftShader) need not be NaN. Nothing relies on `max` of an all -Inf row being -Inf:
 * tfjs-webgl's max starts from -1e20.
 */

const NEG_INF = Number.NEGATIVE_INFINITY;

/** exp(d), NaN where d is NaN whatever the backend's exp does with it. */
const safeExp = (d: Tensor): Tensor => where(isNaNOp(d), scalar(Number.NaN), exp(d));

/**
 * `logits`: float32; `mask`: bool of the logits' rank, broadcastable; `axis` normalised.
 * softmax: e / sum(e) at valid positions (0 when the sum is 0: an empty row, or every valid logit
 * -Inf), 0 at masked ones. log: d - log(sum(e)) at valid positions (-Inf when the sum is 0),
 * -Inf at masked ones, 0 across a row with no valid position.
 */
export function compositeMaskedSoftmax(
  logits: Tensor,
  mask: Tensor,
  axis: number,
  isLog: boolean,
): Tensor {
  return tidy(() => {
    if (logits.size === 0) return zeros(logits.shape);
    const valid = broadcastTo(mask, logits.shape);
    const top = max(where(valid, logits, scalar(NEG_INF)), axis, true);
    // An empty or all -Inf row has no finite max; shifting by 0 keeps exp(-Inf) = 0 there.
    const shift = where(equal(top, scalar(NEG_INF)), scalar(0), top);
    // NaN at a valid NaN, and across the row at a valid +Inf (Inf - Inf): the row turns NaN.
    const d = sub(logits, shift);
    const e = where(valid, safeExp(d), scalar(0));
    const total = sum(e, axis, true);
    if (!isLog) return where(valid, divNoNan(e, total), scalar(0));
    const empty = equal(sum(where(valid, scalar(1), scalar(0)), axis, true), scalar(0));
    // NaN said explicitly again: SwiftShader's log(NaN) is not NaN either.
    const atValid = where(
      isNaNOp(total),
      scalar(Number.NaN),
      where(equal(total, scalar(0)), scalar(NEG_INF), sub(d, log(total))),
    );
    return where(valid, atValid, where(empty, scalar(0), scalar(NEG_INF)));
  });
}

/**
 * dx from the forward output `y`: softmax `y * (dy - sum(y * dy))`, log-softmax
 * `dy - exp(y) * sum(dy)`, sums over valid positions only, dx 0 at masked positions.
 */
export function compositeMaskedSoftmaxGrad(
  dy: Tensor,
  mask: Tensor,
  y: Tensor,
  axis: number,
  isLog: boolean,
): Tensor {
  return tidy(() => {
    if (y.size === 0) return zeros(y.shape);
    const valid = broadcastTo(mask, y.shape);
    const onValid = (t: Tensor) => where(valid, t, scalar(0));
    if (!isLog) {
      const dot = sum(onValid(mul(y, dy)), axis, true);
      return onValid(mul(y, sub(dy, dot)));
    }
    const total = sum(onValid(dy), axis, true);
    return onValid(sub(dy, mul(safeExp(y), total)));
  });
}
