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
 * GLSL `float forwardAt(bool valid, float v, float m, float s, float r)`: the forward output at
 * a position of a row with status/sum `s` (ROW_EMPTY, ROW_NAN, or the exp-sum), finite shift `m`
 * and `r = rowScale(s)`; `valid` its mask, `v` its logit, used only when valid in a normal row
 * (so a caller may pass anything, even NaN, elsewhere). `rowScale` is per row (log s, or 1 / s)
 * so that a program writing several elements of a row computes it once: log and division cost
 * more than the rest of an element on a CPU emulation. (exp(d) * (1 / s) rounds twice: well
 * within float32 tolerance.)
 */
export function forwardAt(log: boolean): string {
  const zero = log ? '-uInf' : '0.0';
  const normal = log ? 'd - r' : 'expNonPositive(d) * r';
  return `
      float rowScale(float s) {
        return s > 0.0 ? ${log ? 'log(s)' : '1.0 / s'} : 0.0;
      }
      float forwardAt(bool valid, float v, float m, float s, float r) {
        if (s == ${ROW_EMPTY}.0) {
          return 0.0;
        }
        if (!valid) {
          return ${zero};
        }
        if (s == ${ROW_NAN}.0) {
          return NAN;
        }
        if (s == 0.0 || v == -uInf) {
          return ${zero};
        }
        float d = v - m;
        return ${normal};
      }`;
}

/**
 * GLSL `float gradAt(float dy, float y, float t)`: dx at a valid position from its dy, y and the
 * row's statistic t (sum of y * dy, or of dy). log: exp(y) for y <= 0 (NaN y stays NaN, so a NaN
 * row's dx is NaN as the reference's).
 */
export const gradAt = (log: boolean): string => `
      float gradAt(float dy, float y, float t) {
        return ${log ? 'dy - expNonPositive(y) * t' : 'y * (dy - t)'};
      }`;

/**
 * The forward's row statistics in one pass (the packed path): the running max over valid finite
 * logits with the sum of exp(x - max) rescaled whenever the max grows ("online softmax"), one
 * read of x and the mask instead of two. State per row: `mx_h`, `acc_h`, `found_h`, `bad_h`,
 * `any_h` (h the row of the pair). Each term and each rescale factor is exp of a non-positive
 * number (<= 1, no overflow); a window's or partial's sum and status are as expSum's, its max is
 * finite (0 when the window has no valid finite logit). A partial or the final result is the pair
 * (max, sum/status).
 */
export const onlineInit = (h: number): string =>
  `float mx_${h} = 0.0; float acc_${h} = 0.0; bool found_${h} = false; bool bad_${h} = false;
        bool any_${h} = false;`;

/** GLSL folding (max `m`, sum `s` >= 0 of exp(. - m), s > 0 when there is a finite term). */
const onlineAdd = (h: number, m: string, s: string): string => `if (!found_${h}) {
              mx_${h} = ${m};
              found_${h} = true;
            }
            float d_${h} = ${m} - mx_${h};
            float e_${h} = expNonPositive(-abs(d_${h}));
            if (d_${h} > 0.0) {
              acc_${h} = acc_${h} * e_${h} + ${s};
              mx_${h} = ${m};
            } else {
              acc_${h} += ${s} * e_${h};
            }`;

/**
 * GLSL folding two logits of row h, the vec2 `v` with validity `vv` (1.0 valid, 0.0 masked): a
 * valid NaN or +Inf marks the row, a valid -Inf adds exp(-Inf) = 0, masked values (even NaN or
 * Inf) only ever meet selects. The max is raised at most once per pair (a branch that a row takes
 * about log n times, so a quad's lanes nearly always agree), then both terms are added: exp of a
 * non-positive difference, 0 for a non-finite logit (its -Inf stand-in is cut to -88 first so exp
 * sees no extreme argument; exp(-88) < 2^-126 is then dropped by the 0 weight).
 */
const onlinePair = (h: number, v: string, vv: string): string => `{
            vec2 v = ${v};
            vec2 vv = ${vv};
            vec2 vf = vv * vec2(greaterThan(v, vec2(-uInf))) * vec2(lessThan(v, vec2(uInf)));
            vec2 nb = vv * (1.0 - vec2(lessThan(v, vec2(uInf))));
            any_${h} = any_${h} || vv.x + vv.y > 0.0;
            bad_${h} = bad_${h} || nb.x + nb.y > 0.0;
            if (vf.x + vf.y > 0.0) {
              vec2 w = vec2(vf.x > 0.5 ? v.x : -uInf, vf.y > 0.5 ? v.y : -uInf);
              float lm = max(w.x, w.y);
              if (!found_${h} || lm > mx_${h}) {
                acc_${h} = found_${h} ? acc_${h} * exp(max(mx_${h} - lm, -88.0)) : 0.0;
                mx_${h} = lm;
                found_${h} = true;
              }
              acc_${h} += dot(vf, exp(max(w - mx_${h}, vec2(-88.0))));
            }
          }`;

/** GLSL folding the partial (max `pm`, sum/status `ps`) into row h. */
export const onlineMerge = (
  h: number,
  pm: string,
  ps: string,
): string => `if (${ps} == ${ROW_NAN}.0) {
            bad_${h} = true;
          } else if (${ps} >= 0.0) {
            any_${h} = true;
            if (${ps} > 0.0) {
              ${onlineAdd(h, pm, ps)}
            }
          }`;

/** GLSL vec2 of row h's (max, sum/status): a partial or the final result. */
export const onlineResult = (h: number): string =>
  `vec2(mx_${h}, bad_${h} ? ${ROW_NAN}.0 : any_${h} ? acc_${h} : ${ROW_EMPTY}.0)`;

/**
 * The packed row passes' reductions (programs/softmax.ts PackedRowPassProgram): the state of row
 * h of a row pair, folded from the texel quads `q_N` of the inputs (components x, y: row 0's two
 * positions; z, w: row 1's) where the bvec4 `valid` holds. A partial or the final result is a
 * vec2 per row: (max, sum/status) for the forward's online statistics, (sum, 0) for the
 * gradient's sums.
 */
export interface PackedRowReducer {
  /** Inputs read besides the mask, as quads `q_N` (read only for quads with a valid position). */
  readonly inputs: readonly string[];
  init(h: number): string;
  /** GLSL folding components `a`, `b` of the quads (row h's two positions) into row h. */
  fold(h: number, a: string, b: string): string;
  /** GLSL folding a partial (`pm`, `ps`: its vec2) into row h. */
  merge(h: number, pm: string, ps: string): string;
  /** GLSL vec2 of row h's partial or final result. */
  result(h: number): string;
}

export type PackedRowReducerName = 'online' | 'dot' | 'sum';

const packedSum = (inputs: string[], term: (c: string) => string): PackedRowReducer => ({
  inputs,
  init: (h) => `float acc_${h} = 0.0;`,
  // Selects, not products with the mask: a masked term (even NaN) is dropped, not added.
  fold: (h, a, b) =>
    `acc_${h} += (valid.${a} ? ${term(a)} : 0.0) + (valid.${b} ? ${term(b)} : 0.0);`,
  merge: (h, pm) => `acc_${h} += ${pm};`,
  result: (h) => `vec2(acc_${h}, 0.0)`,
});

export const PACKED_ROW_REDUCERS: Record<PackedRowReducerName, PackedRowReducer> = {
  /** The forward's statistics (onlinePair). */
  online: {
    inputs: ['x'],
    init: onlineInit,
    fold: (h, a, b) => onlinePair(h, `q_x.${a}${b}`, `vec2(valid.${a}${b})`),
    merge: onlineMerge,
    result: onlineResult,
  },
  /** Softmax gradient: sum over valid positions of y * dy. */
  dot: packedSum(['y', 'dy'], (c) => `q_y.${c} * q_dy.${c}`),
  /** Log-softmax gradient: sum over valid positions of dy. */
  sum: packedSum(['dy'], (c) => `q_dy.${c}`),
};

/**
 * GLSL `vec4 sel(bvec4 c, vec4 a, vec4 b)`: per component, a where c else b, a select (the
 * unselected value, even NaN, never reaches the result): mix with a bvec4 on WebGL 2, its
 * per-component form on WebGL 1 (GLSL ES 1.00 has no such mix).
 */
export const selectFn = (webgl2: boolean): string =>
  webgl2
    ? `
      vec4 sel(bvec4 c, vec4 a, vec4 b) {
        return mix(b, a, c);
      }`
    : `
      vec4 sel(bvec4 c, vec4 a, vec4 b) {
        return vec4(c.x ? a.x : b.x, c.y ? a.y : b.y, c.z ? a.z : b.z, c.w ? a.w : b.w);
      }`;

/**
 * GLSL `vec4 forward4(bvec4 valid, vec4 v, vec4 m, vec4 s, vec4 r)` (needs selectFn): forwardAt
 * for the four elements of a packed texel in selects, no branches (a CPU emulation such as
 * SwiftShader runs both sides of a branch whose lanes disagree): every case is computed and the
 * one that applies selected, so NaN or Inf in the others never reaches the output. `r` is the
 * row's scale (1 / s or log s), used only where s > 0.
 */
export function forward4(log: boolean): string {
  const zero = log ? 'vec4(-uInf)' : 'vec4(0.0)';
  // softmax: exp(d) under 2^-126 (d < -88, a valid -Inf logit too) is 0, as expNonPositive;
  // log-softmax: a valid -Inf logit gives -Inf.
  const zeroAt = log ? 'equal(v, vec4(-uInf))' : 'lessThan(d, vec4(-88.0))';
  const normal = log ? 'd - r' : 'exp(max(d, vec4(-88.0))) * r';
  return `
      vec4 forward4(bvec4 valid, vec4 v, vec4 m, vec4 s, vec4 r) {
        vec4 d = v - m;
        vec4 res = sel(${zeroAt}, ${zero}, ${normal});
        // Special rows (s <= 0): a valid NaN or +Inf (ROW_NAN) gives NaN, valid logits all -Inf
        // (s = 0) the zero.
        vec4 special = sel(equal(s, vec4(${ROW_NAN}.0)), vec4(NAN), ${zero});
        res = sel(lessThanEqual(s, vec4(0.0)), special, res);
        res = sel(valid, res, ${zero});
        return sel(equal(s, vec4(${ROW_EMPTY}.0)), vec4(0.0), res);
      }`;
}
