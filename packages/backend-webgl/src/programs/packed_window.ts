import type { MaskLayout } from '@masked-ops/core';
import { type WindowReducerName, windowReducer } from '../glsl/reducers.js';
import {
  advance,
  type CustomUniform,
  decompose,
  MAX_WINDOW,
  type MaskedProgram,
  odometer,
  packedTexels,
  Uniforms,
} from './base.js';

/**
 * Texel steps per shader loop on the packed path: each step covers two time positions (one texel
 * row pair), so a window still folds at most MAX_WINDOW positions per accumulator.
 */
export const MAX_STEPS = MAX_WINDOW / 2;

export interface PackedWindowSpec {
  /**
   * A reducer of x, or of a term of x and y (the ties statistic, a composed reduction's second
   * stage), which reads y packed as [keptSize, F].
   */
  reducer: WindowReducerName;
  /**
   * Layout of the mask's leading dims (all but its last, the time dim, which is always reduced).
   * Its strides count time rows ("p" positions: x viewed as [P, T, F]).
   */
  layout: MaskLayout;
  /** Output rows (kept positions). */
  keptSize: number;
  /** F: the last dim of x (features), the columns of each texel. */
  inner: number;
  /** T: the mask's last dim (rows of each texel of x and of the mask). */
  rowLen: number;
  /** The mask's second-to-last dim (1 for a 1-D mask): the rows of the mask's texels. */
  maskRows: number;
  /** Ranks of the x and mask views (2 when their leading dim of 1 is dropped, else 3). */
  xRank: number;
  maskRank: number;
  /** Reduced texel steps per output row: (reduced leading positions) * ceil(T / 2). */
  totalSteps: number;
  /** Windows per output row (1 for a final pass). */
  windows: number;
  /** Steps per window (<= MAX_STEPS). */
  windowSteps: number;
  /** As in WindowSpec. */
  scale: number;
  outScale: number;
  /**
   * true: output [keptSize, F] = the reducer's results.
   * false: output [keptSize * windows, F + 1]: per window the accumulator of each feature and, in
   *   column F, the scaled valid count (the layout CombineProgram reads once unpacked).
   */
  final: boolean;
}

/**
 * First (or only) pass over a packed x, without unpacking it. tfjs packs a tensor [.., T, F] in
 * RGBA texels of 2x2 blocks: (t, f), (t, f+1), (t+1, f), (t+1, f+1) in r, g, b, a; x is read as a
 * 3-D view [P, T, F] (P = the leading dims, a free view of a packed texture) and the mask, packed
 * as well, as [Q, S, T] (S its second-to-last dim). The output is packed too: one invocation
 * writes a 2x2 block (two output rows, two features), reading each texel of x it needs once.
 *
 * Masked-out positions are skipped by branches (never multiplied by 0), as on the unpacked path;
 * texel slots past an odd T or F are never folded into a result that is written, and output slots
 * past the logical shape are written as 0.
 */
export class PackedMaskedWindowProgram implements MaskedProgram {
  readonly variableNames: string[];
  readonly packedInputs = true;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: PackedWindowSpec) {
    const { layout, final } = spec;
    const reducer = windowReducer(spec.reducer);
    if (reducer.source === 'mask') throw new Error('backend-webgl: the packed path reads x');
    const readsY = reducer.source === 'xy';
    this.variableNames = readsY ? ['x', 'mask', 'y'] : ['x', 'mask'];
    const nk = layout.kept.length;
    const nr = layout.reduced.length;
    const rows = spec.keptSize * spec.windows;
    this.outputShape = [rows, final ? spec.inner : spec.inner + 1];
    const u = new Uniforms()
      .int('uRows', rows)
      .int('uInner', spec.inner)
      .int('uRowLen', spec.rowLen)
      .int('uHalfRow', Math.ceil(spec.rowLen / 2))
      .int('uMaskRows', spec.maskRows)
      .int('uWindows', spec.windows)
      .int('uWindowSteps', spec.windowSteps)
      .int('uTotalSteps', spec.totalSteps)
      .float('uScale', spec.scale)
      .float('uOutScale', spec.outScale)
      .float('uInf', Number.POSITIVE_INFINITY)
      .layout(layout);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    const first = 'count == 0.0';
    // What a valid value contributes: x itself, or the reducer's term of x and this output's y.
    const value = (v: string, yc: string) => (readsY ? reducer.term!(v, yc) : v);
    const fold = (pair: string, a: string, b: string) =>
      reducer.vectorUpdate
        ? `${reducer.update('acc', value(pair, 'yv'), first)}
                count += uScale;`
        : `${reducer.update('acc.x', value(a, 'yv.x'), first)}
                ${reducer.update('acc.y', value(b, 'yv.y'), first)}
                count += uScale;`;
    const values = final
      ? `vec2 vals = vec2(${reducer.finish('acc.x', 'count', 'yv.x')}, ${reducer.finish('acc.y', 'count', 'yv.y')});
          if (col + 1 >= uInner) {
            vals.y = 0.0;
          }`
      : `vec2 vals = vec2(
            col < uInner ? acc.x : (col == uInner ? count : 0.0),
            col + 1 < uInner ? acc.y : (col + 1 == uInner ? count : 0.0));`;
    this.userCode = `
      ${reducer.functions ?? ''}
      ${packedTexels(spec.xRank, spec.maskRank)}
      void main() {
        ivec2 rc = getOutputCoords();
        int col = rc.y;
        bool wantX = col < uInner;
        vec4 result = vec4(0.0);
        for (int h = 0; h < 2; h++) {
          int row = rc.x + h;
          if (row >= uRows) {
            break;
          }
          int outRow = row / uWindows;
          int win = row - outRow * uWindows;
          ${
            readsY
              ? `// y's texel holds two output rows: this one's pair of features is xy or zw.
          vec2 yv = vec2(0.0);
          if (wantX) {
            vec4 y4 = getY(outRow, col);
            yv = outRow - (outRow / 2) * 2 == 0 ? y4.xy : y4.zw;
          }`
              : ''
          }

          int base = 0;
          ${decompose('outRow', 'base', 'uKeptFlat', 'uKeptMask', nk)}

          int start = win * uWindowSteps;
          int len = uTotalSteps - start;
          if (len > uWindowSteps) {
            len = uWindowSteps;
          }
          int lead = start / uHalfRow;
          int t = (start - lead * uHalfRow) * 2;
          int off = 0;
          ${odometer(nr)}
          ${decompose('lead', 'off', 'uRedFlat', 'uRedMask', nr, 'r')}

          vec2 acc = vec2(0.0);
          float count = 0.0;
          for (int i = 0; i < ${MAX_STEPS}; i++) {
            if (i >= len) {
              break;
            }
            int p = base + off;
            int q = p / uMaskRows;
            int s = p - q * uMaskRows;
            vec4 m4 = maskTexel(q, s, t);
            vec2 m = s - (s / 2) * 2 == 0 ? m4.xy : m4.zw;
            bool v0 = m.x > 0.5;
            bool v1 = t + 1 < uRowLen && m.y > 0.5;
            if (v0 || v1) {
              // The count column (col == F) and the padding column past it read no x.
              vec4 xt = wantX ? xTexel(p, t, col) : vec4(0.0);
              if (v0) {
                ${fold('xt.xy', 'xt.x', 'xt.y')}
              }
              if (v1) {
                ${fold('xt.zw', 'xt.z', 'xt.w')}
              }
              ${reducer.stopAtFirst ? 'break;' : ''}
            }
            t += 2;
            if (t >= uRowLen) {
              t = 0;
              ${advance(nr)}
            }
          }
          ${values}
          if (h == 0) {
            result.xy = vals;
          } else {
            result.zw = vals;
          }
        }
        setOutput(result);
      }
    `;
  }
}
