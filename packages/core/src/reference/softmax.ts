/**
 * The float64 reference of the masked softmaxes (docs/SPEC.md "Masked softmax"): the mask
 * broadcast by decomposing every logits index (slow and obvious on purpose), each row reduced in
 * float64. Besides the values it says, per element, what the comparison needs: `counts` (0 where
 * the value must match exactly: masked positions, rows with no valid position, a valid -Inf) and
 * `scales` (the error-bound scale: see docs/SPEC.md "Accuracy").
 */

export interface ReferenceSoftmaxInput {
  logits: ArrayLike<number>;
  logitsShape: readonly number[];
  mask: ArrayLike<number | boolean>;
  /** Broadcastable to the logits (NumPy rules). */
  maskShape: readonly number[];
  /** Normalised (non-negative). */
  axis: number;
  log: boolean;
}

export interface ReferenceSoftmaxResult {
  values: Float64Array;
  /** Valid positions of the element's row; 0 where the value is exact. */
  counts: Float64Array;
  scales: Float64Array;
  /**
   * Softmax: the scales are relative (|err| <= c * scale * log factor, no absolute floor), since
   * probabilities of long rows are small. Log-softmax: the usual c * (1 + scale) * log factor.
   */
  relative: boolean;
}

const isValid = (m: number | boolean): boolean => (typeof m === 'boolean' ? m : m !== 0);

/** The rows along `axis`: each a list of flat logits indices, and the validity of each. */
function rows(input: ReferenceSoftmaxInput): { index: number[]; valid: boolean[] }[] {
  const { logitsShape: shape, maskShape, axis, mask } = input;
  const rank = shape.length;
  const lead = rank - maskShape.length;
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const maskAt = (flat: number): boolean => {
    let m = 0;
    let rest = flat;
    const idx = new Array<number>(rank);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    for (let d = 0; d < maskShape.length; d++) {
      m = m * maskShape[d]! + (maskShape[d] === 1 ? 0 : idx[lead + d]!);
    }
    return isValid(mask[m]!);
  };
  const out: { index: number[]; valid: boolean[] }[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const index = Array.from({ length: n }, (_, k) => (o * n + k) * inner + i);
      out.push({ index, valid: index.map(maskAt) });
    }
  }
  return out;
}

interface RowStats {
  count: number;
  /** The largest valid logit (NaN if any valid is NaN). */
  top: number;
  /** sum of exp(x - top) over valid positions (when top is finite). */
  total: number;
}

function stats(x: ArrayLike<number>, index: number[], valid: boolean[]): RowStats {
  let count = 0;
  let top = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < index.length; k++) {
    if (!valid[k]) continue;
    count++;
    const v = x[index[k]!]!;
    top = Number.isNaN(v) || Number.isNaN(top) ? Number.NaN : Math.max(top, v);
  }
  let total = 0;
  if (Number.isFinite(top)) {
    for (let k = 0; k < index.length; k++) if (valid[k]) total += Math.exp(x[index[k]!]! - top);
  }
  return { count, top, total };
}

export function referenceMaskedSoftmax(input: ReferenceSoftmaxInput): ReferenceSoftmaxResult {
  const { logits: x, log } = input;
  const size = x.length;
  const values = new Float64Array(size);
  const counts = new Float64Array(size);
  const scales = new Float64Array(size);
  for (const { index, valid } of rows(input)) {
    const { count, top, total } = stats(x, index, valid);
    for (let k = 0; k < index.length; k++) {
      const i = index[k]!;
      if (count === 0) {
        values[i] = 0; // a row with no valid position: zeros in both ops
        continue;
      }
      if (!valid[k]) {
        values[i] = log ? Number.NEGATIVE_INFINITY : 0;
        continue;
      }
      const v = x[i]!;
      counts[i] = count;
      if (Number.isNaN(top) || top === Number.POSITIVE_INFINITY) {
        values[i] = Number.NaN; // a valid NaN or +Inf: the row's valid positions are NaN
      } else if (top === Number.NEGATIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
        values[i] = log ? Number.NEGATIVE_INFINITY : 0;
        counts[i] = 0;
      } else {
        const d = v - top;
        if (log) {
          values[i] = d - Math.log(total);
          scales[i] = Math.abs(d) + Math.log(total);
        } else {
          values[i] = Math.exp(d) / total;
          scales[i] = values[i]! * (1 + Math.abs(d));
        }
      }
    }
  }
  return { values, counts, scales, relative: !log };
}

export interface ReferenceSoftmaxGrad {
  values: Float64Array;
  counts: Float64Array;
  scales: Float64Array;
  relative: boolean;
}

/**
 * dx of a masked softmax, evaluated at the float32-rounded reference output (the gradient kernel
 * reads the forward output, not the logits). Each scale adds the forward output's own allowed
 * error carried through the formula, since a backend's y may differ from the reference's by that
 * much (docs/SPEC.md "Accuracy").
 */
export function referenceMaskedSoftmaxGrad(
  input: ReferenceSoftmaxInput,
  dy: ArrayLike<number>,
): ReferenceSoftmaxGrad {
  const fwd = referenceMaskedSoftmax(input);
  const { log } = input;
  const size = input.logits.length;
  const values = new Float64Array(size);
  const counts = new Float64Array(size);
  const scales = new Float64Array(size);
  for (const { index, valid } of rows(input)) {
    const on = index.filter((_, k) => valid[k]);
    if (on.length === 0) continue; // zeros, exact
    const y = (i: number) => Math.fround(fwd.values[i]!);
    // The forward's allowed error at i, in units of c * log factor.
    const fErr = (i: number) => (log ? 1 + fwd.scales[i]! : fwd.scales[i]!);
    if (!log) {
      let dot = 0;
      let dotAbs = 0;
      let errDot = 0;
      for (const j of on) {
        dot += y(j) * dy[j]!;
        dotAbs += Math.abs(y(j) * dy[j]!);
        errDot += fErr(j) * Math.abs(dy[j]!);
      }
      for (const i of on) {
        values[i] = y(i) * (dy[i]! - dot);
        counts[i] = on.length;
        scales[i] =
          Math.abs(y(i)) * (Math.abs(dy[i]!) + dotAbs + errDot) + fErr(i) * Math.abs(dy[i]! - dot);
      }
    } else {
      let total = 0;
      let totalAbs = 0;
      for (const j of on) {
        total += dy[j]!;
        totalAbs += Math.abs(dy[j]!);
      }
      for (const i of on) {
        const p = Math.exp(y(i));
        values[i] = dy[i]! - p * total;
        counts[i] = on.length;
        scales[i] = Math.abs(dy[i]!) + p * (totalAbs + fErr(i) * Math.abs(total));
      }
    }
  }
  return { values, counts, scales, relative: !log };
}
