import type { ReducerName } from '@masked-ops/core';
import { type GlslGradient, GRADIENTS } from '../glsl/reducers.js';
import { type CustomUniform, type MaskedProgram, Uniforms } from './base.js';

export interface TexelBroadcastSpec {
  reducer: ReducerName;
  /**
   * true: dx, x and the mask are packed, viewed as [R, C] or [B, R, C] (B > 1; see packedTexels
   * in base.ts for why a leading 1 is dropped). false: all flat and unpacked, [size].
   */
  packed: boolean;
  /** The view of dx (and of x and the mask). */
  view: number[];
  /** stat input * statScale = the gradient's statistic (count or ties); 1 when it has none. */
  statScale: number;
}

/** The texel path gradient's inputs, in the order the kernel passes them. */
export function texelBroadcastInputs(gradient: GlslGradient): string[] {
  return [
    'mask',
    'dy',
    ...(gradient.cotangents === 2 ? ['dy1'] : []),
    ...(gradient.stat !== null ? ['stat'] : []),
    ...(gradient.readsXY ? ['x', 'y'] : []),
  ];
}

/**
 * The gradient of a reduction of every position (the texel path's form: x and the mask of one
 * shape, one output): dx = valid ? f(dy, dy1, stat, x, y) : 0 with dy, dy1, the statistic and y
 * one value each, so dx at a position depends on x and the mask at that position alone. Each
 * invocation reads the mask's (and x's) texel at its own output texel (tfjs's AtOutCoords
 * samplers) and writes one texel of dx: packed, four positions per invocation. Unpacked, a sparse
 * gradient (max/min) reads dy and the statistic only at tied positions.
 * Masked positions are skipped by branches (never multiplied by 0); packed slots past an odd R or
 * C are written as 0.
 */
export class TexelBroadcastProgram implements MaskedProgram {
  readonly variableNames: string[];
  readonly packedInputs: boolean;
  readonly packedOutput: boolean;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: TexelBroadcastSpec) {
    const gradient = GRADIENTS[spec.reducer]!;
    const { packed, view } = spec;
    this.packedInputs = packed;
    this.packedOutput = packed;
    this.variableNames = texelBroadcastInputs(gradient);
    this.outputShape = [...view];
    const rank = view.length;
    const u = new Uniforms()
      .int('uRows', packed ? view[rank - 2]! : 1)
      .int('uCols', view[rank - 1]!)
      .float('uStatScale', spec.statScale);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    // The one-value inputs, viewed as [1, 1] (packed: its texel's first slot) or [1].
    const one = (name: string) => (packed ? `get${name}(0, 0).x` : `get${name}(0)`);
    const statExpr = gradient.stat === null ? '1.0' : `(${one('Stat')} * uStatScale)`;
    // Packed, dy and the statistic are read once per invocation (see GlslGradient.sparse).
    const dense = packed || !gradient.sparse;
    const reads = [
      dense ? `float dyv = ${one('Dy')};` : '',
      dense && gradient.cotangents === 2 ? `float dy1v = ${one('Dy1')};` : '',
      dense && gradient.stat !== null ? `float statv = ${statExpr};` : '',
      gradient.readsXY ? `float yv = ${one('Y')};` : '',
    ].join('\n          ');
    const at = (xv: string) =>
      gradient.expr({
        dy: dense ? 'dyv' : one('Dy'),
        dy1: dense ? 'dy1v' : one('Dy1'),
        stat: dense ? 'statv' : statExpr,
        xv,
        yv: 'yv',
      });
    if (!packed) {
      this.userCode = `
      ${gradient.functions ?? ''}
      void main() {
        float result = 0.0;
        if (getMaskAtOutCoords() > 0.5) {
          ${reads}
          ${gradient.readsXY ? 'float xv = getXAtOutCoords();' : ''}
          result = ${at('xv')};
        }
        setOutput(result);
      }
    `;
      return;
    }
    const lanes = ['x', 'y', 'z', 'w'];
    this.userCode = `
      ${gradient.functions ?? ''}
      void main() {
        ${rank === 3 ? 'ivec3' : 'ivec2'} rc = getOutputCoords();
        int r = rc.${rank === 3 ? 'y' : 'x'};
        int c = rc.${rank === 3 ? 'z' : 'y'};
        bvec4 valid = greaterThan(getMaskAtOutCoords(), vec4(0.5));
        if (c + 1 >= uCols) {
          valid.y = false;
          valid.w = false;
        }
        if (r + 1 >= uRows) {
          valid.z = false;
          valid.w = false;
        }
        vec4 result = vec4(0.0);
        if (any(valid)) {
          ${reads}
          ${gradient.readsXY ? 'vec4 xv = getXAtOutCoords();' : ''}
          result = vec4(${lanes.map((l) => `valid.${l} ? ${at(`xv.${l}`)} : 0.0`).join(',\n                        ')});
        }
        setOutput(result);
      }
    `;
  }
}
