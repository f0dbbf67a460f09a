/**
 * Everything op-specific of the masked softmax kernels (docs/SPEC.md "Masked softmax"): the row
 * reductions and the elementwise expressions. The programs (programs/softmax.ts) and the driver
 * (kernels/softmax.ts) are generic over these.
 *
 * No intermediate texture ever holds ±Inf or NaN, and no shader relies on `isnan`:
 * - the row max is the max over the row's valid *finite* logits (0 when there is none), so it is
 *   always finite and every exp(x - max) is in [0, 1];
 * - the row sum carries the row's status in its sign: >= 0 the sum of exp(x - max) (0 when every
 *   valid logit is -Inf), -1 a valid NaN or +Inf (the row is NaN), -2 no valid position.
 * A value is classified by ordered comparisons with the uniform `uInf` (false for NaN under IEEE
 * rules, which GPUs follow for comparisons), so nothing depends on how a driver implements isnan,
 * on exp(NaN) (SwiftShader gives Inf) or on how a texture stores an infinity (a half-float
 * texture on SwiftShader stores ±Inf as NaN).
 */

/** Status codes of the row sum (exact in any float format). */
export const ROW_NAN = -1;
export const ROW_EMPTY = -2;

/**
 * exp(d) for d <= 0 (or NaN, which stays NaN through the selects below): 0 below -88, where
 * exp(d) is under 2^-126 (what the contract's bound allows for), so the GPU's exp never sees an
 * extreme argument (-Inf from an overflowing difference such as -3e38 - 3e38).
 */
export const EXP_NONPOSITIVE = `
      float expNonPositive(float d) {
        return d >= -88.0 ? exp(d) : (d < -88.0 ? 0.0 : d);
      }`;

/**
 * A reduction along each row over its valid positions. One pass folds up to MAX_WINDOW positions
 * per output (a window); further passes merge up to MAX_WINDOW window results each. A window's
 * partial result has the same form as the final one, so one merge serves every pass.
 */
export interface RowReducer {
  /**
   * Inputs read per element (after the mask), in order; the fold sees input `x` as `vx`, `dy` as
   * `vdy` etc., fetched only at valid positions.
   */
  readonly elementInputs: readonly string[];
  /** A per-row input read once per first-pass output (the exp-sum's row max `m`). */
  readonly rowInput?: string;
  /** GLSL declaring the state. */
  readonly init: string;
  /** GLSL of the first pass reading the per-row input, after `init` (merges read partials only). */
  readonly rowInit?: string;
  /** GLSL folding the valid element whose values are `vx`, `vy`, `vdy` (see elementInputs). */
  readonly fold: string;
  /** GLSL folding the partial `p` of a window. */
  readonly merge: string;
  /** GLSL expression of a window's partial result. */
  readonly partial: string;
  /** GLSL expression of the final result (the last pass). */
  readonly final: string;
}

export type RowReducerName = 'max' | 'expSum' | 'dot' | 'sum';

const plainSum = (term: string, inputs: string[]): RowReducer => ({
  elementInputs: inputs,
  init: 'float acc = 0.0;',
  fold: `acc += ${term};`,
  merge: 'acc += p;',
  partial: 'acc',
  final: 'acc',
});

const finiteMax = (v: string) => `if (${v} > -uInf && ${v} < uInf && (!found || ${v} > best)) {
            best = ${v};
            found = true;
          }`;

export const ROW_REDUCERS: Record<RowReducerName, RowReducer> = {
  /**
   * The max over valid finite logits. A window without one writes -Inf, which the merge skips as
   * non-finite (as it skips the NaN a half-float texture may turn it into); the final result is
   * 0 then (the shift is unused: the exp-sum pass classifies such rows itself).
   */
  max: {
    elementInputs: ['x'],
    init: 'float best = 0.0; bool found = false;',
    fold: `float v = vx;
          ${finiteMax('v')}`,
    merge: finiteMax('p'),
    partial: '(found ? best : -uInf)',
    final: '(found ? best : 0.0)',
  },
  /**
   * sum exp(x - m) over valid finite logits (each term <= 1: no overflow), with the row status in
   * the sign (see the module comment). Blocked by construction: windows of MAX_WINDOW terms are
   * summed separately, then their sums.
   */
  expSum: {
    elementInputs: ['x'],
    rowInput: 'm',
    init: 'float acc = 0.0; bool bad = false; bool any = false;',
    rowInit: 'float mv = rowM(row);',
    fold: `any = true;
          float v = vx;
          if (v > -uInf && v < uInf) {
            acc += expNonPositive(v - mv);
          } else if (v == -uInf) {
            // exp(-Inf - m) = 0.
          } else {
            bad = true;
          }`,
    merge: `if (p == ${ROW_NAN}.0) {
            bad = true;
          } else if (p >= 0.0) {
            any = true;
            acc += p;
          }`,
    partial: `(bad ? ${ROW_NAN}.0 : any ? acc : ${ROW_EMPTY}.0)`,
    final: `(bad ? ${ROW_NAN}.0 : any ? acc : ${ROW_EMPTY}.0)`,
  },
  /** Softmax gradient: sum over valid positions of y * dy (masked dy, even NaN, never read). */
  dot: plainSum('vy * vdy', ['y', 'dy']),
  /** Log-softmax gradient: sum over valid positions of dy. */
  sum: plainSum('vdy', ['dy']),
};

/**
 * The forward output at a position of a row with status/sum `s` (ROW_EMPTY, ROW_NAN, or the
 * exp-sum) and finite shift `rowM(row)`; `valid` its mask, `readX(e)` its logit (read only when
 * valid).
 */
export function forwardExpr(log: boolean): string {
  const zero = log ? '-uInf' : '0.0';
  const normal = log ? 'd - log(s)' : 'expNonPositive(d) / s';
  return `
        if (s == ${ROW_EMPTY}.0) {
          result = 0.0;
        } else if (!valid) {
          result = ${zero};
        } else if (s == ${ROW_NAN}.0) {
          result = NAN;
        } else {
          float v = readX(e);
          if (s == 0.0 || v == -uInf) {
            result = ${zero};
          } else {
            float d = v - rowM(row);
            result = ${normal};
          }
        }`;
}

/**
 * dx at a valid position from its dy (`readDy(e)`), y (`readY(e)`) and the row's statistic t (sum
 * of y * dy, or of dy).
 * log: exp(y) for y <= 0 (NaN y stays NaN, so a NaN row's dx is NaN as the reference's).
 */
export const gradExpr = (log: boolean): string =>
  log ? 'readDy(e) - expNonPositive(readY(e)) * t' : 'readY(e) * (readDy(e) - t)';
