/**
 * The float64 oracle of each reducer over one slice's valid values: a direct transcription of
 * docs/SPEC.md in plain TypeScript. It imports nothing (no tfjs, no geometry, no kernel code), so
 * no bug in those can be mirrored here; test/reference.test.ts checks that it stays that way.
 *
 * A reducer has one output, or several (moments: mean, variance); `output` picks one.
 */
export interface ReferenceReducer {
  /** How many outputs the op returns (1 unless the table row lists several). */
  outputs: number;
  /** Output `output` over the valid values (empty: the row's empty value). */
  forward(values: readonly number[], output: number): number;
  /**
   * d(output `output`)/d(value_i) * dy for each valid value. Evaluated where docs/SPEC.md says:
   * at the float64 result (sum, mean, max, min) or at the float32 result the op returns
   * (logsumexp, moments: their formulas read the op's own y, as tfjs's and PyTorch's do).
   */
  backward(values: readonly number[], dy: number, output: number): number[];
  /**
   * The magnitude the error bound scales with (docs/SPEC.md "Accuracy"): the largest |value| for
   * a mean, the sum of |values| for a sum (its rounding grows with the terms' total), the
   * largest squared deviation from the mean for a variance.
   */
  scale(values: readonly number[], output: number): number;
  /** The result is one of the inputs: backends must return it exactly. */
  exact: boolean;
  /** Per output: linear in the values (a finite-difference gradient check is then exact). */
  linear: readonly boolean[];
  /**
   * The error-bound scale of each gradient element (default |gradient|). A gradient evaluated at
   * the op's own float32 output inherits that output's allowed error (docs/SPEC.md "Accuracy"):
   * log-sum-exp's `dy * exp(x - y)` is off by the factor exp(error of y), the variance's
   * `2 dy (x - mean) / count` by `2 dy / count` times the mean's error.
   */
  gradScale?(values: readonly number[], dy: number, output: number, grads: number[]): number[];
}

/** The depth factor of the bound, as docs/SPEC.md "Accuracy" writes it. */
const depth = (count: number): number => Math.max(1, Math.ceil(Math.log2(count + 1)));

/**
 * The allowed error of a forward output over `values` (in units of the bound's c): only where it
 * is finite (a non-finite output is matched exactly, and so are the gradients that read it).
 */
const outputError = (values: readonly number[]): number => {
  const e = (1 + maxAbs(values)) * depth(values.length);
  return Number.isFinite(e) ? e : 0;
};

const maxAbs = (values: readonly number[]): number =>
  values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const total = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : total(values) / values.length;

/** Two-pass population variance: the textbook formula, exact enough in float64. */
const variance = (values: readonly number[]): number => {
  if (values.length === 0) return 0;
  const m = mean(values);
  return values.reduce((s, v) => s + (v - m) * (v - m), 0) / values.length;
};

/** A valid NaN is the result (checked first); otherwise the extreme value; the gradient splits among ties. */
const extremum = (pick: (a: number, b: number) => number): ReferenceReducer => {
  const forward = (values: readonly number[]): number => {
    if (values.length === 0) return 0;
    if (values.some(Number.isNaN)) return Number.NaN;
    return values.reduce(pick);
  };
  return {
    outputs: 1,
    forward,
    backward: (values, dy) => {
      const y = forward(values);
      const tied = values.map((v) => v === y || (Number.isNaN(v) && Number.isNaN(y)));
      const ties = tied.filter(Boolean).length;
      return tied.map((t) => (t ? dy / ties : 0));
    },
    scale: maxAbs,
    exact: true,
    linear: [false],
  };
};

/** log(sum(exp)) shifted by the max; the non-finite cases spelled out as docs/SPEC.md lists them. */
const logSumExp = (values: readonly number[]): number => {
  if (values.some(Number.isNaN)) return Number.NaN;
  const m = values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(m)) return m; // empty or all -Inf: -Inf; any +Inf: +Inf
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
};

export const REFERENCE_REDUCERS = {
  sum: {
    outputs: 1,
    forward: total,
    backward: (values, dy) => values.map(() => dy),
    scale: (values) => values.reduce((s, v) => s + Math.abs(v), 0),
    exact: false,
    linear: [true],
  },
  mean: {
    outputs: 1,
    forward: mean,
    backward: (values, dy) => values.map(() => dy / values.length),
    scale: maxAbs,
    exact: false,
    linear: [true],
  },
  max: extremum((a, b) => Math.max(a, b)),
  min: extremum((a, b) => Math.min(a, b)),
  logsumexp: {
    outputs: 1,
    forward: logSumExp,
    backward: (values, dy) => {
      const y = Math.fround(logSumExp(values));
      return values.map((v) => (y === Number.NEGATIVE_INFINITY ? 0 : dy * Math.exp(v - y)));
    },
    scale: maxAbs,
    exact: false,
    linear: [false],
    gradScale: (values, _dy, _output, grads) => {
      const yError = outputError(values);
      return grads.map((g) => Math.abs(g) * (1 + yError));
    },
  },
  moments: {
    outputs: 2,
    forward: (values, output) => (output === 0 ? mean(values) : variance(values)),
    backward: (values, dy, output) => {
      const n = values.length;
      if (output === 0) return values.map(() => dy / n);
      const m = Math.fround(mean(values));
      return values.map((v) => (2 * dy * (v - m)) / n);
    },
    scale: (values, output) => {
      if (output === 0) return maxAbs(values);
      const m = mean(values);
      return values.reduce((s, v) => Math.max(s, (v - m) * (v - m)), 0);
    },
    exact: false,
    linear: [true, false],
    gradScale: (values, dy, output, grads) => {
      if (output === 0) return grads.map(Math.abs);
      const meanError = outputError(values);
      return grads.map((g) => Math.abs(g) + (2 * Math.abs(dy) * meanError) / values.length);
    },
  },
} satisfies Record<string, ReferenceReducer>;
