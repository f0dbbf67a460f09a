import { type WindowReducerName, windowReducer } from '../glsl/reducers.js';
import { FlatProgram, MAX_WINDOW, Uniforms } from './base.js';

export interface CombineSpec {
  reducer: WindowReducerName;
  keptSize: number;
  /** Features per row (0 for a mask-only reducer); the partials carry one more column, the count. */
  inner: number;
  /** Windows per row in the input partials. */
  windowsIn: number;
  /** Windows per row in the output (1 for a final pass). */
  windowsOut: number;
  /** Power of two multiplying the merged partials of sum-like reducers, and the counts. */
  scale: number;
  outScale: number;
  /** true: the reducer's results [keptSize * max(inner, 1)]; false: partials of MAX_WINDOW windows. */
  final: boolean;
}

/** Whether a combine pass reads the per-output y (input 'y' after the partials). */
export const combineReadsY = (reducer: WindowReducerName, final: boolean): boolean =>
  final && windowReducer(reducer).finishReadsY === true;

/**
 * Passes after the first: merges up to MAX_WINDOW partial states per output (windows with count 0
 * are skipped, so no reducer needs an identity); the final pass finishes them (reading y, flat
 * [keptSize * inner], for a reducer whose finish needs it).
 */
export class CombineProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(spec: CombineSpec) {
    super();
    const reducer = windowReducer(spec.reducer);
    const inner = reducer.source === 'mask' ? 0 : spec.inner;
    const cols = spec.final ? Math.max(inner, 1) : inner + 1;
    const readsY = combineReadsY(spec.reducer, spec.final);
    this.variableNames = readsY ? ['partials', 'y'] : ['partials'];
    this.outputShape = [spec.keptSize * spec.windowsOut * cols];
    this.setUniforms(
      new Uniforms()
        .int('uInner', inner)
        .int('uCols', cols)
        .int('uColsIn', inner + 1)
        .int('uIn', spec.windowsIn)
        .int('uOut', spec.windowsOut)
        .float('uScale', spec.scale)
        .float('uOutScale', spec.outScale)
        .float('uInf', Number.POSITIVE_INFINITY),
    );
    const result = spec.final ? reducer.finish('acc', 'count', 'yv') : '(wantX ? acc : count)';
    this.userCode = `
      void main() {
        int flatOut = getOutputCoords();
        int row = flatOut / uCols;
        int col = flatOut - row * uCols;
        int outRow = row / uOut;
        int win = row - outRow * uOut;
        int start = win * ${MAX_WINDOW};
        int len = uIn - start;
        int p = (outRow * uIn + start) * uColsIn;
        bool wantX = col < uInner;
        ${readsY ? 'float yv = wantX ? getY(outRow * uInner + col) : 0.0;' : ''}
        float acc = 0.0;
        float count = 0.0;
        for (int i = 0; i < ${MAX_WINDOW}; i++) {
          if (i >= len) {
            break;
          }
          float c = getPartials(p + uInner);
          if (c > 0.0) {
            if (wantX) {
              float v = getPartials(p + col);
              ${reducer.merge('acc', 'v', 'count == 0.0')}
            }
            count += c * uScale;
          }
          p += uColsIn;
        }
        setOutput(${result});
      }
    `;
  }
}
