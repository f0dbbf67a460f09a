import type { ReducerName } from '@masked-ops/core';

/**
 * Everything reducer-specific of the webgl kernels, keyed by core's ReducerName (docs/SPEC.md has
 * the semantics): the programs and the stage driver are generic, so a new reduction costs one
 * entry here (and one in {@link GRADIENTS}).
 *
 * State of a slice, in every pass: a per-feature accumulator `acc` plus a per-row valid `count`
 * (one extra column of the partials, shared by the features: the mask does not depend on them).
 * Partials of a window with count 0 are never merged, so a reducer needs no identity element
 * (max/min have none that half-float textures can hold: SwiftShader stores ±Inf as NaN there).
 */
export interface GlslReducer {
  /**
   * What each valid position contributes: 'x' its value; 'mask' nothing but the count (inner is
   * 0); 'tied' the indicator [x == y or both NaN] of x against the forward output y.
   */
  readonly source: 'x' | 'mask' | 'tied';
  /**
   * Sum-like: every folded value (and the count) is multiplied by the pass's power-of-two scale
   * `uScale` (exact), so partials stay in half-float range, a mean of finite float32 values never
   * overflows its intermediate sum, and a sum overflows only if the result does. Extremes are
   * picked, never scaled.
   */
  readonly scaled: boolean;
  /**
   * Whether `update` is component-wise GLSL that is valid for vec2 operands as well. The packed
   * pass folds the two features of a texel slot with one vec2 statement then: on SwiftShader,
   * writing acc.x and acc.y separately inside the per-slot branches made the packed mean's pass
   * about 1.5x slower.
   */
  readonly vectorUpdate: boolean;
  /** GLSL folding valid value `v` into `acc`; `first` is a GLSL bool: nothing folded yet. */
  update(acc: string, v: string, first: string): string;
  /** GLSL folding a partial accumulator `p` (of a window with count > 0) into `acc`. */
  merge(acc: string, p: string, first: string): string;
  /**
   * GLSL expression of the result from `acc` and the scaled count `count` (exactly 0 for an empty
   * slice). `uOutScale` undoes the scaling where the ratio does not (sum, statistics).
   */
  finish(acc: string, count: string): string;
}

const sumLike = (source: GlslReducer['source']): GlslReducer => ({
  source,
  scaled: true,
  // 'tied' folds an indicator of a scalar comparison.
  vectorUpdate: source === 'x',
  update: (acc, v) => `${acc} += ${v} * uScale;`,
  merge: (acc, p) => `${acc} += ${p} * uScale;`,
  finish: (acc) => `${acc} * uOutScale`,
});

/**
 * `better(v, acc)`: v replaces acc. A valid NaN is the result: once acc holds NaN it stays (GLSL's
 * max()/min() do not reliably propagate NaN, so it is tested explicitly with tfjs's `isnan`).
 */
const extreme = (better: (v: string, acc: string) => string): GlslReducer => {
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
  };
};

/** The reducers this package implements; core's table rows without one are not registered. */
export const REDUCERS: Partial<Record<ReducerName, GlslReducer>> = {
  sum: sumLike('x'),
  mean: {
    ...sumLike('x'),
    // acc and count carry the same power-of-two scale: the ratio is the mean, exactly as unscaled.
    finish: (acc, count) => `(${count} > 0.0 ? ${acc} / ${count} : 0.0)`,
  },
  max: extreme((v, acc) => `${v} > ${acc}`),
  min: extreme((v, acc) => `${v} < ${acc}`),
};

/** The reductions the gradients need, over the same layout; results are left scaled. */
export type StatName = 'count' | 'ties';

export const STATS: Record<StatName, GlslReducer> = {
  /** Valid positions per output row (mask only). */
  count: { ...sumLike('mask'), finish: (_acc, count) => `${count} * uOutScale` },
  /** Valid positions tied with the result, per output row and feature. */
  ties: sumLike('tied'),
};

export type WindowReducerName = ReducerName | StatName;

export function windowReducer(name: WindowReducerName): GlslReducer {
  const reducer = name in STATS ? STATS[name as StatName] : REDUCERS[name as ReducerName];
  if (reducer === undefined) throw new Error(`backend-webgl: no reducer '${name}'`);
  return reducer;
}

/** Shared GLSL: whether x is one of the positions that produced the extreme y. */
export const TIED_GLSL = `
      bool tied(float xv, float yv) {
        return xv == yv || (isnan(xv) && isnan(yv));
      }`;

/**
 * The gradient of each reducer at a valid position (0 at masked ones and on empty slices):
 * `dx = f(dy, stat, x, y)` with the statistic the gradient needs per output element.
 */
export interface GlslGradient {
  /** 'count': valid positions per output row; 'ties': tied positions per row and feature. */
  readonly stat: StatName | null;
  /** Whether f reads x and the forward output y (core's `gradInputs`). */
  readonly readsXY: boolean;
  /**
   * GLSL expression of dx from GLSL expressions of `dy`, the true (unscaled) `stat`, `xv` and
   * `yv`: texture reads, each evaluated only where the expression needs it (max/min read dy and
   * the ties only at tied positions, a few per slice).
   */
  expr(dy: string, stat: string, xv: string, yv: string): string;
}

const extremeGrad: GlslGradient = {
  stat: 'ties',
  readsXY: true,
  expr: (dy, stat, xv, yv) => `(tied(${xv}, ${yv}) ? ${dy} / (${stat}) : 0.0)`,
};

export const GRADIENTS: Partial<Record<ReducerName, GlslGradient>> = {
  sum: { stat: null, readsXY: false, expr: (dy) => dy },
  mean: { stat: 'count', readsXY: false, expr: (dy, stat) => `${dy} / (${stat})` },
  max: extremeGrad,
  min: extremeGrad,
};
