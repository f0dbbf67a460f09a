import type { MaskLayout } from '@masked-ops/core';
import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/**
 * Longest loop a shader runs per output element. Reductions longer than this are split into
 * windows of this many positions (first pass), then combined in further passes, as tfjs's own
 * reduce does: no shader loops long enough to trip a GPU watchdog, and each float32 accumulator
 * folds at most this many terms.
 */
export const MAX_WINDOW = 256;

export type CustomUniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/**
 * Collects uniform declarations and their values in one order. Every size, stride and scale is a
 * uniform, and inputs use tfjs's shape uniforms, so a shader is compiled once per structure
 * (reducer, number of runs, pass kind), not once per shape.
 */
export class Uniforms {
  readonly declarations: CustomUniform[] = [];
  readonly values: number[][] = [];

  int(name: string, value: number): this {
    this.declarations.push({ name, type: 'int' });
    this.values.push([value]);
    return this;
  }

  float(name: string, value: number): this {
    this.declarations.push({ name, type: 'float' });
    this.values.push([value]);
    return this;
  }

  ints(name: string, values: number[]): this {
    if (values.length > 0) {
      this.declarations.push({ name, type: 'int', arrayIndex: values.length });
      this.values.push(values);
    }
    return this;
  }

  /** The strides and sizes of the kept and reduced runs, as every window program reads them. */
  layout(layout: MaskLayout): this {
    const { kept, reduced } = layout;
    return this.ints(
      'uKeptFlat',
      kept.map((r) => r.flatStride),
    )
      .ints(
        'uKeptMask',
        kept.map((r) => r.maskStride),
      )
      .ints(
        'uRedFlat',
        reduced.map((r) => r.flatStride),
      )
      .ints(
        'uRedMask',
        reduced.map((r) => r.maskStride),
      )
      .ints(
        'uRedSize',
        reduced.map((r) => r.size),
      );
  }

  /**
   * The runs up to the last kept one, as mask strides and output strides: a mask position
   * decomposed over them gives its output row (what the broadcast programs read). Runs after the
   * last kept one never change the output row, so they are left out.
   */
  outputRows(layout: MaskLayout): { uniforms: Uniforms; runs: number } {
    let n = layout.all.length;
    while (n > 0 && layout.all[n - 1]!.reduced) n--;
    const all = layout.all.slice(0, n);
    this.ints(
      'uDimMask',
      all.map((d) => d.maskStride),
    ).ints(
      'uDimOut',
      all.map((d) => d.outStride),
    );
    return { uniforms: this, runs: n };
  }
}

/** A program plus the values of its custom uniforms, ready for `runWebGLProgram`. */
export interface MaskedProgram extends GPGPUProgram {
  uniformValues: number[][];
}

/** Programs reading every tensor through tfjs's flat, unpacked samplers. */
export abstract class FlatProgram implements MaskedProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract userCode: string;
  // Every tensor is read through tfjs's 1-D unpacked samplers; shapes go in as uniforms.
  readonly enableShapeUniforms = true;
  readonly packedInputs: boolean = false;
  readonly packedOutput: boolean = false;
  customUniforms: CustomUniform[] = [];
  uniformValues: number[][] = [];

  protected setUniforms(u: Uniforms): void {
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
  }
}

/** GLSL adding the mask-level offset of flat index `flat` over `runs` to `target`. */
export function decompose(
  flat: string,
  target: string,
  flatStrides: string,
  maskStrides: string,
  n: number,
  indexPrefix?: string,
): string {
  const lines = [`int rest_${target} = ${flat};`];
  for (let j = 0; j < n; j++) {
    const idx = indexPrefix ? `${indexPrefix}${j}` : `i_${target}_${j}`;
    lines.push(
      `${indexPrefix ? '' : 'int '}${idx} = rest_${target} / ${flatStrides}[${j}];`,
      `rest_${target} -= ${idx} * ${flatStrides}[${j}];`,
      `${target} += ${idx} * ${maskStrides}[${j}];`,
    );
  }
  return lines.join('\n        ');
}

/** GLSL declaring the odometer r0..r{n-1} over the reduced runs. */
export const odometer = (n: number): string =>
  Array.from({ length: n }, (_, j) => `int r${j} = 0;`).join(' ');

/** GLSL advancing the odometer r0..r{n-1} (and `off`) to the next reduced position. */
export function advance(n: number): string {
  if (n === 0) return '';
  const carry = (j: number): string =>
    j === 0
      ? ''
      : `if (r${j} == uRedSize[${j}]) {
            r${j} = 0;
            off -= uRedSize[${j}] * uRedMask[${j}];
            r${j - 1} += 1;
            off += uRedMask[${j - 1}];
            ${carry(j - 1)}
          }`;
  return `r${n - 1} += 1;
          off += uRedMask[${n - 1}];
          ${carry(n - 1)}`;
}

/**
 * GLSL `xTexel(p, t, f)` and `maskTexel(q, s, t)` over the packed path's views of x ([P, T, F])
 * and the mask ([Q, S, T]). A view with a leading 1 is passed as its last two dims instead (a
 * free view too): tfjs compiles a packed 3-D sampler of shape [1, R, C] as a 2-D one whose code
 * depends on whether [R, C] equals the texture shape, which its shader key does not record, so
 * two such inputs of one structure could share a shader compiled for the other (seen: the mask
 * [1, 2, 70001], squarified, read through a shader made for a small mask).
 */
export function packedTexels(xRank: number, maskRank: number): string {
  return `
      vec4 xTexel(int p, int t, int f) {
        return ${xRank === 3 ? 'getX(p, t, f)' : 'getX(t, f)'};
      }
      vec4 maskTexel(int q, int s, int t) {
        return ${maskRank === 3 ? 'getMask(q, s, t)' : 'getMask(s, t)'};
      }`;
}
