import type { MaskLayout, ReducerName } from '@masked-ops/core';
import { type GlslGradient, GRADIENTS } from '../glsl/reducers.js';
import {
  type CustomUniform,
  decompose,
  FlatProgram,
  type MaskedProgram,
  Uniforms,
} from './base.js';

export interface BroadcastSpec {
  reducer: ReducerName;
  layout: MaskLayout;
  maskSize: number;
  inner: number;
  /** stat input * statScale = the gradient's statistic (count or ties); 1 when it has none. */
  statScale: number;
}

/** The gradient's inputs, in the order the kernel passes them. */
export function broadcastInputs(gradient: GlslGradient): string[] {
  return [
    'dy',
    ...(gradient.cotangents === 2 ? ['dy1'] : []),
    'mask',
    ...(gradient.stat ? ['stat'] : []),
    ...(gradient.readsXY ? ['x', 'y'] : []),
  ];
}

/**
 * GLSL shared by both broadcast programs: `rowOf(m, outRow)` (whether mask position m is valid,
 * and its output row), `rowStat(outRow)` (a per-row statistic, read once per position) and
 * `gradAt(outRow, e, col, rowStat)`, dx at x element e (feature col) of a valid position.
 */
function gradientFunctions(gradient: GlslGradient, runs: number): string {
  const rowStat = gradient.stat === 'count' ? 'getStat(outRow) * uStatScale' : '1.0';
  const stat = gradient.stat === 'ties' ? 'getStat(o) * uStatScale' : 'rowStat';
  return `
      ${gradient.functions ?? ''}
      bool rowOf(int m, out int outRow) {
        outRow = 0;
        if (getMask(m) <= 0.5) {
          return false;
        }
        ${decompose('m', 'outRow', 'uDimMask', 'uDimOut', runs)}
        return true;
      }

      float rowStatOf(int outRow) {
        return ${rowStat};
      }

      float gradAt(int outRow, int e, int col, float rowStat) {
        int o = outRow * uInner + col;
        return ${gradient.expr({ dy: 'getDy(o)', dy1: 'getDy1(o)', stat, xv: 'getX(e)', yv: 'getY(o)' })};
      }`;
}

/**
 * Every gradient: dx = valid ? f(dy, stat, x, y) : 0 (f from the reducer's GLSL gradient), one
 * element per invocation, dx flat and unpacked.
 */
export class MaskedBroadcastProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(spec: BroadcastSpec) {
    super();
    const gradient = GRADIENTS[spec.reducer]!;
    this.variableNames = broadcastInputs(gradient);
    this.outputShape = [spec.maskSize * spec.inner];
    const { uniforms, runs } = new Uniforms()
      .int('uInner', spec.inner)
      .float('uStatScale', spec.statScale)
      .outputRows(spec.layout);
    this.setUniforms(uniforms);
    this.userCode = `
      ${gradientFunctions(gradient, runs)}

      void main() {
        int e = getOutputCoords();
        int m = e / uInner;
        int col = e - m * uInner;
        float result = 0.0;
        int outRow;
        if (rowOf(m, outRow)) {
          result = gradAt(outRow, e, col, rowStatOf(outRow));
        }
        setOutput(result);
      }
    `;
  }
}

export interface PackedBroadcastSpec extends Omit<BroadcastSpec, 'maskSize'> {
  /** x viewed as [P, R, C]: its last two dims (R, C) fix the packed layout. */
  xView: [number, number, number];
}

/**
 * The same gradient written as a packed texture: one invocation writes a 2x2 block of x's two
 * innermost dims (a quarter of the invocations of the unpacked program, and the mask and a
 * per-row statistic are read once for two features of one position). Inputs are read unpacked.
 */
export class MaskedBroadcastPackedProgram implements MaskedProgram {
  readonly variableNames: string[];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: PackedBroadcastSpec) {
    const gradient = GRADIENTS[spec.reducer]!;
    this.variableNames = broadcastInputs(gradient);
    this.outputShape = [...spec.xView];
    const { uniforms, runs } = new Uniforms()
      .int('uInner', spec.inner)
      .int('uRows', spec.xView[1])
      .int('uCols', spec.xView[2])
      .float('uStatScale', spec.statScale)
      .outputRows(spec.layout);
    this.customUniforms = uniforms.declarations;
    this.uniformValues = uniforms.values;
    this.userCode = `
      ${gradientFunctions(gradient, runs)}

      void main() {
        ivec3 rc = getOutputCoords();
        bool second = rc.z + 1 < uCols;
        vec4 result = vec4(0.0);
        for (int h = 0; h < 2; h++) {
          int r = rc.y + h;
          if (r >= uRows) {
            break;
          }
          int e = (rc.x * uRows + r) * uCols + rc.z;
          int m = e / uInner;
          int col = e - m * uInner;
          bool sameRow = col + 1 < uInner;
          vec2 vals = vec2(0.0);
          int outRow;
          if (rowOf(m, outRow)) {
            float rowStat = rowStatOf(outRow);
            vals.x = gradAt(outRow, e, col, rowStat);
            if (second && sameRow) {
              vals.y = gradAt(outRow, e + 1, col + 1, rowStat);
            }
          }
          if (second && !sameRow) {
            // The block's second column is the first feature of the next mask position.
            int outRow1;
            if (rowOf(m + 1, outRow1)) {
              vals.y = gradAt(outRow1, e + 1, 0, rowStatOf(outRow1));
            }
          }
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
