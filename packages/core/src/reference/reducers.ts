/**
 * The float64 oracle of each reducer over one slice's valid values: a direct transcription of
 * docs/SPEC.md in plain TypeScript. It imports nothing (no tfjs, no geometry, no kernel code), so
 * no bug in those can be mirrored here; test/reference.test.ts checks that it stays that way.
 */
export interface ReferenceReducer {
  /** The result over the valid values (empty: the row's empty value). */
  forward(values: readonly number[]): number;
  /** d(result)/d(value_i) * dy for each valid value, given the forward result y. */
  backward(values: readonly number[], y: number, dy: number): number[];
  /**
   * The magnitude the error bound scales with (docs/SPEC.md "Accuracy"): the largest |value| for
   * a mean, the sum of |values| for a sum (its rounding grows with the terms' total).
   */
  scale(values: readonly number[]): number;
  /** The result is one of the inputs: backends must return it exactly. */
  exact: boolean;
}

const maxAbs = (values: readonly number[]): number =>
  values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const total = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);

/** A valid NaN is the result (checked first); otherwise the extreme value; the gradient splits among ties. */
const extremum = (pick: (a: number, b: number) => number): ReferenceReducer => ({
  forward: (values) => {
    if (values.length === 0) return 0;
    if (values.some(Number.isNaN)) return Number.NaN;
    return values.reduce(pick);
  },
  backward: (values, y, dy) => {
    const tied = values.map((v) => v === y || (Number.isNaN(v) && Number.isNaN(y)));
    const ties = tied.filter(Boolean).length;
    return tied.map((t) => (t ? dy / ties : 0));
  },
  scale: maxAbs,
  exact: true,
});

export const REFERENCE_REDUCERS = {
  sum: {
    forward: total,
    backward: (values, _y, dy) => values.map(() => dy),
    scale: (values) => values.reduce((s, v) => s + Math.abs(v), 0),
    exact: false,
  },
  mean: {
    forward: (values) => (values.length === 0 ? 0 : total(values) / values.length),
    backward: (values, _y, dy) => values.map(() => dy / values.length),
    scale: maxAbs,
    exact: false,
  },
  max: extremum((a, b) => Math.max(a, b)),
  min: extremum((a, b) => Math.min(a, b)),
} satisfies Record<string, ReferenceReducer>;
