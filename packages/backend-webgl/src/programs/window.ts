import type { MaskLayout } from '@masked-ops/core';
import { type WindowReducerName, windowReducer } from '../glsl/reducers.js';
import { advance, decompose, FlatProgram, MAX_WINDOW, odometer, Uniforms } from './base.js';

export interface WindowSpec {
  reducer: WindowReducerName;
  layout: MaskLayout;
  /** Output rows (kept mask-level positions). */
  keptSize: number;
  /** Features per mask position (0 for a mask-only reducer). */
  inner: number;
  reduceSize: number;
  /** Windows per output row; 1 for a final pass. */
  windows: number;
  /** Reduced positions per window (<= MAX_WINDOW). */
  windowLen: number;
  /** Power of two multiplying the values and the count of sum-like reducers (exact). */
  scale: number;
  /** Multiplies a sum-like final result (undoes `scale` where the reducer says so). */
  outScale: number;
  /**
   * true: one pass, output [keptSize * max(inner, 1)] = the reducer's results.
   * false: output [keptSize, windows, inner + 1]: per window the accumulator of each feature and,
   *   in column `inner`, the scaled count of valid positions (the layout CombineProgram reads).
   */
  final: boolean;
}

/**
 * First (or only) pass of a masked reduction: reads x and the mask together (and, for reducers of
 * a term of x and y, the per-output y: the forward output for the ties statistic, the first
 * stage's result for a second stage). Masked-out positions are skipped by a branch, never
 * multiplied by 0, so NaN/Inf there cannot reach the accumulator.
 */
export class MaskedWindowProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(spec: WindowSpec) {
    super();
    const { layout, final } = spec;
    const reducer = windowReducer(spec.reducer);
    const nk = layout.kept.length;
    const nr = layout.reduced.length;
    const readsX = reducer.source !== 'mask';
    const readsY = reducer.source === 'xy';
    const inner = readsX ? spec.inner : 0;
    const cols = final ? Math.max(inner, 1) : inner + 1;
    this.variableNames = readsY ? ['x', 'mask', 'y'] : readsX ? ['x', 'mask'] : ['mask'];
    this.outputShape = [spec.keptSize * spec.windows * cols];
    this.setUniforms(
      new Uniforms()
        .int('uInner', inner)
        .int('uCols', cols)
        .int('uWindows', spec.windows)
        .int('uWindowLen', spec.windowLen)
        .int('uReduceSize', spec.reduceSize)
        .float('uScale', spec.scale)
        .float('uOutScale', spec.outScale)
        .float('uInf', Number.POSITIVE_INFINITY)
        .layout(layout),
    );
    const x = 'getX(m * uInner + col)';
    const value = readsY ? reducer.term!(x, 'yv') : x;
    const fold = readsX
      ? `if (wantX) {
              float v = ${value};
              ${reducer.update('acc', 'v', 'count == 0.0')}
            }`
      : '';
    const result = final ? reducer.finish('acc', 'count', 'yv') : '(wantX ? acc : count)';
    this.userCode = `
      ${reducer.functions ?? ''}
      void main() {
        int flatOut = getOutputCoords();
        int row = flatOut / uCols;
        int col = flatOut - row * uCols;
        int outRow = row / uWindows;
        int win = row - outRow * uWindows;

        int base = 0;
        ${decompose('outRow', 'base', 'uKeptFlat', 'uKeptMask', nk)}

        int start = win * uWindowLen;
        int len = uReduceSize - start;
        if (len > uWindowLen) {
          len = uWindowLen;
        }
        int off = 0;
        ${odometer(nr)}
        ${decompose('start', 'off', 'uRedFlat', 'uRedMask', nr, 'r')}

        bool wantX = col < uInner;
        ${readsY ? 'float yv = wantX ? getY(outRow * uInner + col) : 0.0;' : ''}
        float acc = 0.0;
        float count = 0.0;
        for (int i = 0; i < ${MAX_WINDOW}; i++) {
          if (i >= len) {
            break;
          }
          int m = base + off;
          if (getMask(m) > 0.5) {
            ${fold}
            count += uScale;
            ${reducer.stopAtFirst ? 'break;' : ''}
          }
          ${advance(nr)}
        }
        setOutput(${result});
      }
    `;
  }
}
