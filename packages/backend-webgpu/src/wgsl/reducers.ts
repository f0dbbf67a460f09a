import type { ReducerName } from '@masked-ops/core';

/**
 * Everything reducer-specific of the WGSL kernels, keyed by core's ReducerName (docs/SPEC.md has
 * the semantics). The programs (programs/slice.ts) are generic: a new reduction costs an entry
 * in REDUCERS (its state and four WGSL functions) and one in GRADIENTS (an expression and the
 * statistic it needs), not a new program.
 *
 * A reducer is a monoid over a per-invocation `State`: each invocation folds the valid positions
 * it visits into its own state, then the workgroup merges the states in a tree through shared
 * memory, then one invocation finishes the result. A split reduction (programs/split.ts) stores
 * each chunk's merged state as `width` floats and merges the chunks' states with the same
 * `stateMerge` before finishing. Every reducer defines, in WGSL:
 *
 *   alias State = ...;
 *   fn stateInit() -> State                         // nothing folded yet
 *   fn stateFold(s : State, v : f32) -> State       // fold one valid value (x, or term(x, y))
 *   fn stateMerge(a : State, b : State) -> State    // combine two partial states
 *   fn stateFinish(s : State, k : i32) -> f32       // output k of the slice (k < outputs)
 *
 * Masked-out positions are skipped by a branch, never multiplied by 0, so NaN/Inf there cannot
 * reach a state. `isnan` (a bitcast test) and `isinf` come from tfjs's shader prelude; NaN and
 * Infinity are tfjs's `uniforms.NAN` / `uniforms.INFINITY` (WGSL has no literals for them).
 * `exp` is only ever called on finite arguments: SwiftShader's exp(NaN) is Inf, not NaN.
 */
export interface WgslReducer {
  /**
   * What each valid position contributes: 'x' its value; 'mask' nothing (only that it is
   * valid); 'xy' `term(x, y)` with y the per-output value (the forward output, for the ties
   * statistic of max/min gradients).
   */
  readonly source: 'x' | 'mask' | 'xy';
  /** The WGSL above (plus `fn term(x : f32, y : f32) -> f32` for source 'xy'). */
  readonly code: string;
  /** Outputs `stateFinish` gives (moments: mean and variance). */
  readonly outputs: number;
  /**
   * Floats in a `State` (f32, or a vecN<f32>): a split reduction (programs/split.ts) stores each
   * chunk's state as that many float32 values.
   */
  readonly width: 1 | 2 | 3 | 4;
}

/**
 * Sum-like folds multiply every value by `uniforms.scale`, a power of two no larger than
 * 1 / reduceSize (exact): a sum overflows only if its result does, and a mean of finite float32
 * values never overflows its intermediate sum (maskedMean([3e38, 3e38]) is 3e38).
 */
const SUM = `
  alias State = f32;
  fn stateInit() -> State { return 0.0; }
  fn stateFold(s : State, v : f32) -> State { return s + v * uniforms.scale; }
  fn stateMerge(a : State, b : State) -> State { return a + b; }
  fn stateFinish(s : State, k : i32) -> f32 { return s * uniforms.outScale; }`;

/** (scaled sum, scaled count): the ratio is exact in the scale. Empty: 0. */
const MEAN = `
  alias State = vec2<f32>;
  fn stateInit() -> State { return vec2<f32>(0.0); }
  fn stateFold(s : State, v : f32) -> State {
    return s + vec2<f32>(v, 1.0) * uniforms.scale;
  }
  fn stateMerge(a : State, b : State) -> State { return a + b; }
  fn stateFinish(s : State, k : i32) -> f32 {
    if (s.y > 0.0) { return s.x / s.y; }
    return 0.0;
  }`;

/**
 * (extreme, any valid): no identity element is needed (a state with nothing folded is never
 * compared). A valid NaN is the result: once held it stays (max()/min() do not reliably
 * propagate NaN, so it is tested). Empty: 0.
 */
const extreme = (better: '>' | '<'): string => `
  alias State = vec2<f32>;
  fn stateInit() -> State { return vec2<f32>(0.0); }
  fn stateFold(s : State, v : f32) -> State {
    if (s.y == 0.0 || (!isnan(s.x) && (isnan(v) || v ${better} s.x))) {
      return vec2<f32>(v, 1.0);
    }
    return s;
  }
  fn stateMerge(a : State, b : State) -> State {
    if (b.y == 0.0) { return a; }
    return stateFold(a, b.x);
  }
  fn stateFinish(s : State, k : i32) -> f32 {
    if (s.y > 0.0) { return s.x; }
    return 0.0;
  }`;

/**
 * (running max m of the finite valid values, sum of exp(v - m) over them, flags): the online
 * log-sum-exp, so no exp overflows (every argument is <= 0) and 1000 + log 2 comes out of
 * [1000, 1000]. Non-finite values stay out of (m, s): flags is 2 for a valid NaN, else 1 for a
 * valid +Inf; a valid -Inf adds exp(-Inf) = 0, i.e. nothing. Results (docs/SPEC.md "Log-sum-exp
 * details"): NaN, else +Inf, else -Inf when no finite value is valid (empty or all -Inf).
 */
const LOG_SUM_EXP = `
  alias State = vec3<f32>;
  fn stateInit() -> State { return vec3<f32>(0.0); }
  fn stateFold(s : State, v : f32) -> State {
    if (isnan(v)) { return vec3<f32>(s.x, s.y, 2.0); }
    if (isinf(v)) {
      if (v > 0.0) { return vec3<f32>(s.x, s.y, max(s.z, 1.0)); }
      return s;
    }
    if (s.y == 0.0) { return vec3<f32>(v, 1.0, s.z); }
    if (v > s.x) { return vec3<f32>(v, s.y * exp(s.x - v) + 1.0, s.z); }
    return vec3<f32>(s.x, s.y + exp(v - s.x), s.z);
  }
  fn stateMerge(a : State, b : State) -> State {
    let flags = max(a.z, b.z);
    if (b.y == 0.0) { return vec3<f32>(a.x, a.y, flags); }
    if (a.y == 0.0) { return vec3<f32>(b.x, b.y, flags); }
    let m = max(a.x, b.x);
    return vec3<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m), flags);
  }
  fn stateFinish(s : State, k : i32) -> f32 {
    if (s.z == 2.0) { return uniforms.NAN; }
    if (s.z == 1.0) { return uniforms.INFINITY; }
    if (s.y == 0.0) { return -uniforms.INFINITY; }
    return s.x + log(s.y);
  }`;

/**
 * (n, mean, M2, flags) of the finite valid values, Welford per invocation and Chan's merge
 * across invocations: one stable pass (1e4 + noise keeps its variance; M2 only ever adds
 * non-negative terms, so the variance is never negative). The values are halved first (exact):
 * a difference of two halves stays below float32 max, so a mean of [3e38, -3e38] is 0, not NaN.
 * Flags (bits): 1 a valid +Inf, 2 a valid -Inf, 4 a valid NaN. Results (docs/SPEC.md "Moments
 * details"): a valid NaN, or both infinities, make both NaN; one infinity makes the mean that
 * infinity and the variance NaN. Empty: 0 and 0.
 */
const MOMENTS = `
  alias State = vec4<f32>;
  fn stateInit() -> State { return vec4<f32>(0.0); }
  fn withFlag(s : State, bit : u32) -> State {
    return vec4<f32>(s.xyz, f32(u32(s.w) | bit));
  }
  fn stateFold(s : State, v : f32) -> State {
    if (isnan(v)) { return withFlag(s, 4u); }
    if (isinf(v)) { return withFlag(s, select(2u, 1u, v > 0.0)); }
    let h = v * 0.5;
    let n = s.x + 1.0;
    let d = h - s.y;
    let mean = s.y + d / n;
    return vec4<f32>(n, mean, s.z + d * (h - mean), s.w);
  }
  fn stateMerge(a : State, b : State) -> State {
    let flags = f32(u32(a.w) | u32(b.w));
    if (b.x == 0.0) { return vec4<f32>(a.xyz, flags); }
    if (a.x == 0.0) { return vec4<f32>(b.xyz, flags); }
    let n = a.x + b.x;
    let d = b.y - a.y;
    let mean = a.y + d * (b.x / n);
    return vec4<f32>(n, mean, a.z + b.z + d * d * (a.x * (b.x / n)), flags);
  }
  fn stateFinish(s : State, k : i32) -> f32 {
    let flags = u32(s.w);
    if ((flags & 4u) != 0u || flags == 3u) { return uniforms.NAN; }
    if (flags != 0u) {
      if (k == 1) { return uniforms.NAN; }
      return select(-uniforms.INFINITY, uniforms.INFINITY, flags == 1u);
    }
    if (s.x == 0.0) { return 0.0; }
    if (k == 0) { return s.y * 2.0; }
    return max(s.z / s.x * 4.0, 0.0);
  }`;

/** The forward reducers of the table rows. */
export const REDUCERS: Partial<Record<ReducerName, WgslReducer>> = {
  sum: { source: 'x', code: SUM, outputs: 1, width: 1 },
  mean: { source: 'x', code: MEAN, outputs: 1, width: 2 },
  max: { source: 'x', code: extreme('>'), outputs: 1, width: 2 },
  min: { source: 'x', code: extreme('<'), outputs: 1, width: 2 },
  logsumexp: { source: 'x', code: LOG_SUM_EXP, outputs: 1, width: 3 },
  moments: { source: 'x', code: MOMENTS, outputs: 2, width: 4 },
};

/** Whether x is one of the positions that produced the extreme y (a NaN ties a NaN). */
const TIED = `
  fn tied(x : f32, y : f32) -> bool {
    return x == y || (isnan(x) && isnan(y));
  }`;

/** Plain float32 counting: exact up to 2^24 valid positions per slice. */
const COUNT_STATE = `
  alias State = f32;
  fn stateInit() -> State { return 0.0; }
  fn stateFold(s : State, v : f32) -> State { return s + v; }
  fn stateMerge(a : State, b : State) -> State { return a + b; }
  fn stateFinish(s : State, k : i32) -> f32 { return s; }`;

/** The statistics the gradients divide by, reduced over the same slices as the forward pass. */
export type StatName = 'count' | 'ties';

export const STATS: Record<StatName, WgslReducer> = {
  /** Valid positions per slice (the mask only). */
  count: { source: 'mask', code: COUNT_STATE, outputs: 1, width: 1 },
  /** Valid positions tied with the result y, per slice. */
  ties: {
    source: 'xy',
    code: `${COUNT_STATE}
  ${TIED}
  fn term(x : f32, y : f32) -> f32 { return select(0.0, 1.0, tied(x, y)); }`,
    outputs: 1,
    width: 1,
  },
};

/**
 * The gradient of a reducer at a valid position (0 at masked ones, and so on empty slices):
 * a WGSL expression of `dy`, `dy1` (moments' second cotangent), `stat`, `xv` and `yv`.
 */
export interface WgslGradient {
  /** The statistic of the slice the expression reads (reduced in the same dispatch), if any. */
  readonly stat: StatName | null;
  /** Whether the expression reads x and the forward output y (core's `gradInputs`). */
  readonly readsXY: boolean;
  /** Cotangents read: 1 (dy), or 2 (dy and dy1) for the two outputs of moments. */
  readonly cotangents: 1 | 2;
  /** WGSL functions the expression calls. */
  readonly functions?: string;
  readonly expr: string;
}

// `tied` comes with the ties statistic's code.
const extremeGrad: WgslGradient = {
  stat: 'ties',
  readsXY: true,
  cotangents: 1,
  expr: 'select(0.0, dy / stat, tied(xv, yv))',
};

export const GRADIENTS: Partial<Record<ReducerName, WgslGradient>> = {
  sum: { stat: null, readsXY: false, cotangents: 1, expr: 'dy' },
  mean: { stat: 'count', readsXY: false, cotangents: 1, expr: 'dy / stat' },
  max: extremeGrad,
  min: extremeGrad,
  // dy * softmax over the valid elements at the float32 y returned; 0 where y is -Inf (empty
  // slice or all valid -Inf), NaN at a valid +Inf (Inf - Inf). exp(NaN) is Inf on SwiftShader,
  // so NaN is tested first; a valid -Inf x gives exp(-Inf) = 0.
  logsumexp: {
    stat: null,
    readsXY: true,
    cotangents: 1,
    functions: `
  fn lseGrad(dy : f32, xv : f32, yv : f32) -> f32 {
    if (isinf(yv) && yv < 0.0) { return 0.0; }
    let d = xv - yv;
    if (isnan(d)) { return uniforms.NAN; }
    if (isinf(d) && d < 0.0) { return 0.0; }
    return dy * exp(d);
  }`,
    expr: 'lseGrad(dy, xv, yv)',
  },
  // d mean / dx = 1 / count, d variance / dx = 2 (x - mean) / count; a zero dy1 (the variance
  // unused: tfjs passes zeros) adds nothing, even where x - mean is not finite.
  moments: {
    stat: 'count',
    readsXY: true,
    cotangents: 2,
    expr: '(dy + select(2.0 * dy1 * (xv - yv), 0.0, dy1 == 0.0)) / stat',
  },
};
