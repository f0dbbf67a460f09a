import type { MaskLayout, ReducerName } from '@masked-ops/core';
import { type GlslGradient, GRADIENTS } from '../glsl/reducers.js';
import {
  type CustomUniform,
  decompose,
  type MaskedProgram,
  packedTexels,
  Uniforms,
} from './base.js';

export interface PackedBroadcastInputsSpec {
  reducer: ReducerName;
  /** Layout of the mask's leading dims (all but its last, the time dim, which is reduced). */
  layout: MaskLayout;
  /** x as [P, T, F] (P: the mask's leading positions): the shape of dx written. */
  xView: [number, number, number];
  /** Ranks of the x and mask views (2 when their leading dim of 1 is dropped, else 3). */
  xRank: number;
  maskRank: number;
  /** The mask's second-to-last dim (1 for a 1-D mask): the rows of the mask's texels. */
  maskRows: number;
  /** stat input * statScale = the statistic (ties or count); 1 when there is none. */
  statScale: number;
}

/**
 * The gradient of reducers that read x and the forward output y (max, min, logsumexp, moments) on
 * the packed path's layout (x [..., T, F], mask [..., T], T reduced), with every input read packed:
 * no unpacking pass over x, and one invocation reads one texel of x (a 2x2 block: two time steps,
 * two features), one of the mask and one of y, and writes that block of a packed dx. The two
 * time steps of a block belong to one output row, so y, the cotangents and a per-feature statistic
 * (ties), viewed as [keptSize, F], and a per-row statistic (count), viewed as [keptSize, 1], all
 * packed, are read for that row, each texel once (one sample: the row's pair of features is its
 * xy or zw).
 *
 * Masked-out positions are skipped by branches (never multiplied by 0); slots past an odd T or F
 * are written as 0.
 */
export class PackedMaskedBroadcastProgram implements MaskedProgram {
  readonly variableNames: string[];
  readonly packedInputs = true;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: PackedBroadcastInputsSpec) {
    const gradient = GRADIENTS[spec.reducer]!;
    if (!gradient.readsXY) {
      throw new Error(`backend-webgl: no packed-input gradient for '${spec.reducer}'`);
    }
    const { stat } = gradient;
    const two = gradient.cotangents === 2;
    this.variableNames = packedBroadcastInputs(gradient);
    this.outputShape = [...spec.xView];
    const { uniforms, runs } = new Uniforms()
      .int('uInner', spec.xView[2])
      .int('uRowLen', spec.xView[1])
      .int('uMaskRows', spec.maskRows)
      .float('uStatScale', spec.statScale)
      .outputRows(spec.layout);
    this.customUniforms = uniforms.declarations;
    this.uniformValues = uniforms.values;
    // This row's pair of features (f, f + 1) of a packed [keptSize, F] input: its texel holds two
    // output rows, xy for an even one and zw for an odd one.
    // One sample per input: selecting xy or zw of two samples of it made the pass ~10% slower on
    // SwiftShader, which evaluates both arms of the select.
    const pair = (input: string) => `rowPair(get${input}(outRow, f), oddRow)`;
    const rowStat = 'rowPair(getStat(outRow, 0), oddRow).x * uStatScale';
    // The texels are read once, before the branches, even for a sparse gradient (max/min): read
    // in each of the four branches that uses them, they made this pass ~20% slower on
    // SwiftShader (see GlslGradient.sparse).
    const read = (input: string, c: number) => `${input.toLowerCase()}v.${'xy'[c]}`;
    const statAt = (c: number) =>
      stat === 'count' ? 'rowStat' : stat === 'ties' ? `${read('Stat', c)} * uStatScale` : '1.0';
    const at = (xv: string, c: number) =>
      gradient.expr({
        dy: read('Dy', c),
        dy1: read('Dy1', c),
        stat: statAt(c),
        xv,
        yv: `yv.${'xy'[c]}`,
      });
    const rowReads = [
      `vec2 dyv = ${pair('Dy')};`,
      two ? `vec2 dy1v = ${pair('Dy1')};` : '',
      stat === 'ties' ? `vec2 statv = ${pair('Stat')};` : '',
    ].join('\n          ');
    this.userCode = `
      ${gradient.functions ?? ''}
      ${packedTexels(spec.xRank, spec.maskRank)}
      vec2 rowPair(vec4 texel, bool odd) {
        return odd ? texel.zw : texel.xy;
      }
      void main() {
        ivec3 rc = getOutputCoords();
        int p = rc.x;
        int t = rc.y;
        int f = rc.z;
        int q = p / uMaskRows;
        int s = p - q * uMaskRows;
        vec4 m4 = maskTexel(q, s, t);
        vec2 m = s - (s / 2) * 2 == 0 ? m4.xy : m4.zw;
        bool v0 = m.x > 0.5;
        bool v1 = t + 1 < uRowLen && m.y > 0.5;
        vec4 result = vec4(0.0);
        if (v0 || v1) {
          // p's output row: T (the mask's last dim) is reduced, so both steps share it.
          int outRow = 0;
          ${decompose('p', 'outRow', 'uDimMask', 'uDimOut', runs)}
          bool oddRow = outRow - (outRow / 2) * 2 == 1;
          vec2 yv = ${pair('Y')};
          ${rowReads}
          ${stat === 'count' ? `float rowStat = ${rowStat};` : ''}
          vec4 xt = xTexel(p, t, f);
          bool second = f + 1 < uInner;
          if (v0) {
            result.x = ${at('xt.x', 0)};
            if (second) {
              result.y = ${at('xt.y', 1)};
            }
          }
          if (v1) {
            result.z = ${at('xt.z', 0)};
            if (second) {
              result.w = ${at('xt.w', 1)};
            }
          }
        }
        setOutput(result);
      }
    `;
  }
}

/** The packed-input gradient's inputs, in the order the kernel passes them. */
export function packedBroadcastInputs(gradient: GlslGradient): string[] {
  return [
    'x',
    'mask',
    'y',
    'dy',
    ...(gradient.cotangents === 2 ? ['dy1'] : []),
    ...(gradient.stat !== null ? ['stat'] : []),
  ];
}
