import type { ReducerName } from '@masked-ops/core';

/**
 * Everything reducer-specific of the webgl kernels, keyed by core's ReducerName (docs/SPEC.md has
 * the semantics): the programs and the stage driver are generic, so a new reduction costs entries
 * here (a reducer or a composition of stages, and a gradient), not new programs.
 *
 * State of a slice, in every pass: a per-feature accumulator `acc` plus a per-row valid `count`
 * (one extra column of the partials, shared by the features: the mask does not depend on them).
 * Partials of a window with count 0 are never merged, so a reducer needs no identity element
 * (max/min have none that half-float textures can hold: SwiftShader stores ±Inf as NaN there).
 */
export interface GlslReducer {
  /**
   * What each valid position contributes: 'x' its value; 'mask' nothing but the count (inner is
   * 0); 'xy' `term(x, y)`, a function of x and a per-output value y (the forward output for the
   * ties statistic, the previous stage's result for the second stage of a composed reduction).
   */
  readonly source: 'x' | 'mask' | 'xy';
  /** GLSL of the value folded for x `v` against the per-output `y` (source 'xy' only). */
  term?(v: string, y: string): string;
  /** GLSL functions the update or the term call (declared once per shader). */
  readonly functions?: string;
  /**
   * Sum-like: every folded value (and the count) is multiplied by the pass's power-of-two scale
   * `uScale` (exact), so partials stay in half-float range, a mean of finite float32 values never
   * overflows its intermediate sum, and a sum overflows only if the result does. Extremes are
   * picked, never scaled.
   */
  readonly scaled: boolean;
  /**
   * Whether `update` (and `term`) is component-wise GLSL that is valid for vec2 operands as well.
   * The packed pass folds the two features of a texel slot with one vec2 statement then: on
   * SwiftShader, writing acc.x and acc.y separately inside the per-slot branches made the packed
   * mean's pass about 1.5x slower.
   */
  readonly vectorUpdate: boolean;
  /** GLSL folding valid value `v` into `acc`; `first` is a GLSL bool: nothing folded yet. */
  update(acc: string, v: string, first: string): string;
  /** GLSL folding a partial accumulator `p` (of a window with count > 0) into `acc`. */
  merge(acc: string, p: string, first: string): string;
  /**
   * GLSL expression of the result from `acc` and the scaled count `count` (exactly 0 for an empty
   * slice), and, where {@link finishReadsY}, the per-output `y`. `uOutScale` undoes the scaling
   * where the ratio does not (sum, statistics); `uInf` is +Infinity (GLSL ES has no literal and
   * WebGL 2 shaders get no INFINITY from tfjs), `NAN` tfjs's NaN uniform.
   */
  finish(acc: string, count: string, y: string): string;
  /** Whether the final pass reads y for `finish` (its combine pass then reads y too). */
  readonly finishReadsY?: boolean;
  /**
   * Only the first valid value matters: a window's loop stops at it (its count is then only
   * "non-empty", which is all the combine passes and `finish` ask of it).
   */
  readonly stopAtFirst?: boolean;
  /**
   * How the texel path (programs/texel_window.ts) folds four positions at once into vec4 lanes.
   * Sum-like reducers need none (their lanes start at 0 and fold `update` of the valid values
   * with the others selected to 0); without one, a reducer folds each valid position through
   * `update` in turn, four branches per texel, which on SwiftShader made the extremes' pass about
   * twice as slow as the sum's.
   */
  readonly lanes?: LaneFold;
}

/** A fold of vec4 lanes (see GlslReducer.lanes). */
export interface LaneFold {
  /**
   * GLSL of a lane's value before any valid position: inside a shader (float32) ±Inf exist, so
   * the extremes have an identity there, though not in half-float partials.
   */
  readonly identity: string;
  /**
   * GLSL folding the valid components (bvec4 `valid`) of vec4 `v` into vec4 `acc`; it may count
   * valid NaNs in the shader's float `nans` (they never enter `acc`).
   */
  fold(acc: string, v: string, valid: string): string;
  /** GLSL expression of the window's result from the lanes (and `nans`). */
  total(acc: string): string;
}

const sumLike = (source: GlslReducer['source']): GlslReducer => ({
  source,
  scaled: true,
  vectorUpdate: true,
  update: (acc, v) => `${acc} += ${v} * uScale;`,
  merge: (acc, p) => `${acc} += ${p} * uScale;`,
  finish: (acc) => `${acc} * uOutScale`,
});

/**
 * `better(v, acc)`: v replaces acc. A valid NaN is the result: once acc holds NaN it stays (GLSL's
 * max()/min() do not reliably propagate NaN, so it is tested explicitly with tfjs's `isnan`).
 */
const extreme = (
  better: (v: string, acc: string) => string,
  pick: 'max' | 'min',
  identity: string,
): GlslReducer => {
  const fold = (acc: string, v: string, first: string) =>
    `if (${first} || (!isnan(${acc}) && (isnan(${v}) || ${better(v, acc)}))) {
              ${acc} = ${v};
            }`;
  return {
    source: 'x',
    scaled: false,
    vectorUpdate: false,
    update: fold,
    merge: fold,
    finish: (acc, count) => `(${count} > 0.0 ? ${acc} : 0.0)`,
    // A comparison with NaN is false, so a NaN never replaces a lane: valid NaNs are counted
    // instead, and make the result.
    lanes: {
      identity,
      fold: (
        acc,
        v,
        valid,
      ) => `bvec4 better = ${pick === 'max' ? 'greaterThan' : 'lessThan'}(${v}, ${acc});
            ${acc} = vec4(${['x', 'y', 'z', 'w'].map((l) => `${valid}.${l} && better.${l} ? ${v}.${l} : ${acc}.${l}`).join(',\n                       ')});
            nans += dot(vec4(${valid}), vec4(isnan(${v})));`,
      total: (acc) =>
        `(nans > 0.0 ? NAN : ${pick}(${pick}(${acc}.x, ${acc}.y), ${pick}(${acc}.z, ${acc}.w)))`,
    },
  };
};

/** The mean's finish: acc and count carry the same power-of-two scale, so the ratio is exact. */
const ratio = (acc: string, count: string) => `(${count} > 0.0 ? ${acc} / ${count} : 0.0)`;

/** The single-stage reducers; composed ones ({@link COMPOSED}) run stages of window reducers. */
export const REDUCERS: Partial<Record<ReducerName, GlslReducer>> = {
  sum: sumLike('x'),
  mean: { ...sumLike('x'), finish: ratio },
  max: extreme((v, acc) => `${v} > ${acc}`, 'max', '-uInf'),
  min: extreme((v, acc) => `${v} < ${acc}`, 'min', 'uInf'),
};

/**
 * Stages of composed reductions (see {@link COMPOSED}). An unpacked texel holds one float, so a
 * state of two or three values per slice (lse: running max and scaled sum; moments: count, mean
 * and M2) is split into reductions of one value each; a later stage reads the previous stage's
 * result y per output element.
 */
export type StageName = 'lseTail' | 'pivot' | 'shiftedMean' | 'variance';

export const STAGES: Record<StageName, GlslReducer> = {
  /**
   * log-sum-exp from the masked max y: sum exp(x - y), each term in [0, 1] (exactly 1 at the max),
   * so no exp overflows, even in half-float partials; the result is y + log(sum). A NaN or ±Inf y
   * is the result itself (docs/SPEC.md "Log-sum-exp details": a valid NaN gives NaN, else a valid
   * +Inf gives +Inf, all valid -Inf gives -Inf); an empty slice gives -Inf.
   */
  lseTail: {
    ...sumLike('xy'),
    term: (v, y) => `exp(${v} - ${y})`,
    finishReadsY: true,
    finish: (acc, count, y) =>
      `(${count} > 0.0 ? (isnan(${y}) || isinf(${y}) ? ${y} : ${y} + log(${acc} * uOutScale)) : -uInf)`,
  },
  /**
   * A valid value of the slice (the first one each window meets; the loop stops there, so the
   * pass reads little more than the mask), the shift of the mean below: 0 when it is not finite
   * (the mean is then the plain scaled one, which gives ±Inf or NaN as it should).
   */
  pivot: {
    source: 'x',
    scaled: false,
    vectorUpdate: true,
    stopAtFirst: true,
    update: (acc, v, first) => `if (${first}) {
              ${acc} = ${v};
            }`,
    merge: (acc, p, first) => `if (${first}) {
              ${acc} = ${p};
            }`,
    finish: (acc, count) => `(${count} > 0.0 && !isnan(${acc}) && !isinf(${acc}) ? ${acc} : 0.0)`,
  },
  /**
   * The mean as pivot y + the mean of (x - y): differences between valid values are small where
   * the values are close, so the mean comes out correctly rounded (1e4 + noise) and exact where
   * they are equal (so their variance is exactly 0, even at 3e38). Each term is scaled before the
   * subtraction: x - y never overflows (±3e38).
   */
  shiftedMean: {
    ...sumLike('xy'),
    term: (v, y) => `(${v} * uScale - ${y} * uScale)`,
    update: (acc, t) => `${acc} += ${t};`,
    finishReadsY: true,
    finish: (acc, count, y) => `(${count} > 0.0 ? ${y} + ${acc} / ${count} : 0.0)`,
  },
  /**
   * Population variance from the mean y: the mean of (x - y)^2, the further pass webgl's
   * single-channel textures allow (docs/SPEC.md "Moments details"); accurate where E[x^2] - E[x]^2
   * is not. The scale multiplies one factor before squaring, so a square beyond float32 range
   * whose mean is not stays finite. A ±Inf mean (a valid ±Inf) gives NaN; a NaN one gives NaN
   * through the terms.
   */
  variance: {
    ...sumLike('xy'),
    term: (v, y) => `(${v} - ${y})`,
    update: (acc, d) => `${acc} += (${d} * uScale) * ${d};`,
    finishReadsY: true,
    finish: (acc, count, y) => `(isinf(${y}) ? NAN : ${ratio(acc, count)})`,
  },
};

/**
 * Reductions whose state does not fit one float per texel: `stages` run in order, each after the
 * first reading the previous one's result as y (per output element). `outputs` are the indices of
 * the stage results the forward kernel returns, in the order of the table row's `outputs`.
 */
export interface GlslComposed {
  readonly stages: readonly WindowReducerName[];
  readonly outputs: readonly number[];
}

export const COMPOSED: Partial<Record<ReducerName, GlslComposed>> = {
  logsumexp: { stages: ['max', 'lseTail'], outputs: [1] },
  moments: { stages: ['pivot', 'shiftedMean', 'variance'], outputs: [1, 2] },
};

/** Whether the forward kernel of a reducer can be built here (a reducer or a composition). */
export const hasForward = (name: ReducerName): boolean =>
  REDUCERS[name] !== undefined || COMPOSED[name] !== undefined;

/** Shared GLSL: whether x is one of the positions that produced the extreme y. */
export const TIED_GLSL = `
      bool tied(float xv, float yv) {
        return xv == yv || (isnan(xv) && isnan(yv));
      }`;

/** The reductions the gradients need, over the same layout; results are left scaled. */
export type StatName = 'count' | 'ties';

export const STATS: Record<StatName, GlslReducer> = {
  /** Valid positions per output row (mask only). */
  count: { ...sumLike('mask'), finish: (_acc, count) => `${count} * uOutScale` },
  /** Valid positions tied with the result, per output row and feature. */
  ties: {
    ...sumLike('xy'),
    term: (v, y) => `(tied(${v}, ${y}) ? 1.0 : 0.0)`,
    functions: TIED_GLSL,
    // tied() takes floats.
    vectorUpdate: false,
  },
};

export type WindowReducerName = ReducerName | StatName | StageName;

export function windowReducer(name: WindowReducerName): GlslReducer {
  const reducer =
    name in STATS
      ? STATS[name as StatName]
      : name in STAGES
        ? STAGES[name as StageName]
        : REDUCERS[name as ReducerName];
  if (reducer === undefined) throw new Error(`backend-webgl: no reducer '${name}'`);
  return reducer;
}

/** GLSL expressions a gradient's dx is written from (texture reads, evaluated where used). */
export interface GradientArgs {
  /** The cotangent of the (first) output. */
  dy: string;
  /** The cotangent of the second output (rows with two outputs: moments' variance). */
  dy1: string;
  /** The true (unscaled) statistic. */
  stat: string;
  xv: string;
  yv: string;
}

/**
 * The gradient of each reducer at a valid position (0 at masked ones and on empty slices):
 * `dx = f(dy, stat, x, y)` with the statistic the gradient needs per output element.
 */
export interface GlslGradient {
  /** 'count': valid positions per output row; 'ties': tied positions per row and feature. */
  readonly stat: StatName | null;
  /** Whether f reads x and the forward output y (core's `gradInputs`). */
  readonly readsXY: boolean;
  /** Cotangents read: 1 (dy), or 2 (dy and dy1) for the two outputs of moments. */
  readonly cotangents: 1 | 2;
  /**
   * Whether dy and the statistic are needed at a few positions only (max/min: the tied ones), so
   * a program writing one value per invocation reads them where the expression uses them. A
   * packed program (four values per invocation) reads their texels once per invocation whatever
   * this says: reads in each of the four branches cost more on SwiftShader than reading once.
   */
  readonly sparse: boolean;
  /** GLSL functions the expression calls. */
  readonly functions?: string;
  /**
   * GLSL expression of dx, each argument evaluated only where the expression needs it (max/min
   * read dy and the ties only at tied positions, a few per slice).
   */
  expr(a: GradientArgs): string;
}

const extremeGrad: GlslGradient = {
  stat: 'ties',
  readsXY: true,
  cotangents: 1,
  sparse: true,
  functions: TIED_GLSL,
  expr: ({ dy, stat, xv, yv }) => `(tied(${xv}, ${yv}) ? ${dy} / (${stat}) : 0.0)`,
};

export const GRADIENTS: Partial<Record<ReducerName, GlslGradient>> = {
  sum: { stat: null, readsXY: false, cotangents: 1, sparse: false, expr: ({ dy }) => dy },
  mean: {
    stat: 'count',
    readsXY: false,
    cotangents: 1,
    sparse: false,
    expr: ({ dy, stat }) => `${dy} / (${stat})`,
  },
  max: extremeGrad,
  min: extremeGrad,
  // dy * softmax over the valid elements, at the float32 y returned; 0 where y is -Inf (an empty
  // slice or all valid -Inf), NaN at a valid +Inf (exp(Inf - Inf)).
  logsumexp: {
    stat: null,
    readsXY: true,
    cotangents: 1,
    sparse: false,
    // exp(NaN) is not NaN on every GPU (SwiftShader gives Inf): x - y is tested first.
    expr: ({ dy, xv, yv }) =>
      `(isinf(${yv}) && ${yv} < 0.0 ? 0.0 : isnan(${xv} - ${yv}) ? NAN : ${dy} * exp(${xv} - ${yv}))`,
  },
  // d mean / dx = 1 / count, d variance / dx = 2 (x - mean) / count (the mean's own dependence
  // on x sums to 0 over the slice); y is the mean. A zero dy1 (the variance unused: tfjs passes
  // zeros) adds nothing, even where x - y is not finite.
  moments: {
    stat: 'count',
    readsXY: true,
    cotangents: 2,
    sparse: false,
    expr: ({ dy, dy1, stat, xv, yv }) =>
      `(${dy} + (${dy1} == 0.0 ? 0.0 : 2.0 * ${dy1} * (${xv} - ${yv}))) / (${stat})`,
  },
};
