import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { MaskLayout } from './layout.js';

/**
 * Longest loop a shader runs per output element. Reductions longer than this are split into
 * windows of this many positions (first pass), then combined in further passes, as tfjs's own
 * reduce does: no shader loops long enough to trip a GPU watchdog, and each float32 accumulator
 * sums at most this many terms.
 */
export const MAX_WINDOW = 256;

export type CustomUniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/**
 * Collects uniform declarations and their values in one order. Every size and stride is a uniform,
 * and inputs use tfjs's shape uniforms, so a shader is compiled once per structure (number of runs,
 * pass kind), not once per shape.
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

  /** The strides and sizes of the kept and reduced runs, as every masked program reads them. */
  layout(layout: MaskLayout): this {
    return this.ints(
      'mmKeptFlat',
      layout.kept.map((r) => r.flatStride),
    )
      .ints(
        'mmKeptMask',
        layout.kept.map((r) => r.maskStride),
      )
      .ints(
        'mmRedFlat',
        layout.reduced.map((r) => r.flatStride),
      )
      .ints(
        'mmRedMask',
        layout.reduced.map((r) => r.maskStride),
      )
      .ints(
        'mmRedSize',
        layout.reduced.map((r) => r.size),
      );
  }
}

/** A program plus the values of its custom uniforms, ready for `runWebGLProgram`. */
export interface MaskedProgram extends GPGPUProgram {
  uniformValues: number[][];
}

abstract class Base implements MaskedProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract userCode: string;
  // Every tensor is read through tfjs's 1-D unpacked samplers; shapes go in as uniforms.
  readonly enableShapeUniforms = true;
  readonly packedInputs = false;
  readonly packedOutput = false;
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

/** GLSL advancing the odometer r0..r{n-1} (and `off`) to the next reduced position. */
export function advance(n: number): string {
  if (n === 0) return '';
  const carry = (j: number): string =>
    j === 0
      ? ''
      : `if (r${j} == mmRedSize[${j}]) {
            r${j} = 0;
            off -= mmRedSize[${j}] * mmRedMask[${j}];
            r${j - 1} += 1;
            off += mmRedMask[${j - 1}];
            ${carry(j - 1)}
          }`;
  return `r${n - 1} += 1;
          off += mmRedMask[${n - 1}];
          ${carry(n - 1)}`;
}

export type PartialMode = 'mean' | 'partial' | 'count';

export interface PartialSpec {
  layout: MaskLayout;
  /** Output rows (kept mask-level positions). */
  keptSize: number;
  /** Features per mask position (0 for 'count'). */
  inner: number;
  reduceSize: number;
  /** Windows per output row; 1 for 'mean'. */
  windows: number;
  /** Reduced positions per window (<= MAX_WINDOW). */
  windowLen: number;
  /** Applied to partial sums and counts ('partial', 'count'): a power of two, so exact. */
  invScale: number;
  /**
   * 'mean': one pass, output [keptSize * inner] = masked mean (0 where nothing is valid).
   * 'partial': output [keptSize, windows, inner + 1]: per window the masked sums of each feature
   *   and, in column `inner`, the count of valid positions, all times invScale.
   * 'count': mask only, output [keptSize, windows] = valid count * invScale.
   */
  mode: PartialMode;
}

/**
 * First pass: reads x and the mask together. Masked-out positions are skipped by a branch, never
 * multiplied by 0, so NaN/Inf there cannot reach the sum.
 */
export class MaskedWindowProgram extends Base {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(spec: PartialSpec) {
    super();
    const { layout, mode } = spec;
    const nk = layout.kept.length;
    const nr = layout.reduced.length;
    const hasX = mode !== 'count';
    const inner = hasX ? spec.inner : 0;
    const cols = mode === 'mean' ? inner : mode === 'partial' ? inner + 1 : 1;
    this.variableNames = hasX ? ['x', 'mask'] : ['mask'];
    this.outputShape = [spec.keptSize * spec.windows * cols];
    this.setUniforms(
      new Uniforms()
        .int('mmInner', inner)
        .int('mmCols', cols)
        .int('mmWindows', spec.windows)
        .int('mmWindowLen', spec.windowLen)
        .int('mmReduceSize', spec.reduceSize)
        .float('mmInvScale', spec.invScale)
        .layout(layout),
    );
    const odometer = Array.from({ length: nr }, (_, j) => `int r${j} = 0;`).join(' ');
    const accumulate = hasX
      ? `count += 1.0;
            if (wantX) {
              sum += getX(m * mmInner + col);
            }`
      : 'count += 1.0;';
    const result =
      mode === 'mean'
        ? 'count > 0.0 ? sum / count : 0.0'
        : mode === 'partial'
          ? '(wantX ? sum : count) * mmInvScale'
          : 'count * mmInvScale';
    this.userCode = `
      void main() {
        int flatOut = getOutputCoords();
        int row = flatOut / mmCols;
        int col = flatOut - row * mmCols;
        int outRow = row / mmWindows;
        int win = row - outRow * mmWindows;

        int base = 0;
        ${decompose('outRow', 'base', 'mmKeptFlat', 'mmKeptMask', nk)}

        int start = win * mmWindowLen;
        int len = mmReduceSize - start;
        if (len > mmWindowLen) {
          len = mmWindowLen;
        }
        int off = 0;
        ${odometer}
        ${decompose('start', 'off', 'mmRedFlat', 'mmRedMask', nr, 'r')}

        bool wantX = col < mmInner;
        float sum = 0.0;
        float count = 0.0;
        for (int i = 0; i < ${MAX_WINDOW}; i++) {
          if (i >= len) {
            break;
          }
          int m = base + off;
          if (getMask(m) > 0.5) {
            ${accumulate}
          }
          ${advance(nr)}
        }
        setOutput(${result});
      }
    `;
  }
}

export interface CombineSpec {
  keptSize: number;
  /** Features per row; the partials carry one more column (the count) unless `countOnly`. */
  inner: number;
  countOnly: boolean;
  /** Windows per row in the input partials. */
  windowsIn: number;
  /** Windows per row in the output ('partial' only); 1 row of means for 'final'. */
  windowsOut: number;
  invScale: number;
  /** 'final': divide summed sums by summed counts; 'partial': sum windows of MAX_WINDOW. */
  mode: 'final' | 'partial';
}

/** Later passes: sums of partial sums and counts; the last one divides (0 when count == 0). */
export class CombineProgram extends Base {
  variableNames = ['partials'];
  outputShape: number[];
  userCode: string;

  constructor(spec: CombineSpec) {
    super();
    const cols = spec.countOnly ? 1 : spec.inner + 1;
    const countCol = spec.countOnly ? 0 : spec.inner;
    this.setUniforms(
      new Uniforms()
        .int('mmInner', countCol)
        .int('mmCols', cols)
        .int('mmIn', spec.windowsIn)
        .int('mmOut', spec.windowsOut)
        .float('mmInvScale', spec.invScale),
    );
    if (spec.mode === 'final') {
      this.outputShape = [spec.keptSize * spec.inner];
      this.userCode = `
      void main() {
        int flatOut = getOutputCoords();
        int outRow = flatOut / mmInner;
        int col = flatOut - outRow * mmInner;
        int p = outRow * mmIn * mmCols;
        float sum = 0.0;
        float count = 0.0;
        for (int i = 0; i < ${MAX_WINDOW}; i++) {
          if (i >= mmIn) {
            break;
          }
          sum += getPartials(p + col);
          count += getPartials(p + mmInner);
          p += mmCols;
        }
        setOutput(count > 0.0 ? sum / count : 0.0);
      }
    `;
    } else {
      this.outputShape = [spec.keptSize * spec.windowsOut * cols];
      this.userCode = `
      void main() {
        int flatOut = getOutputCoords();
        int row = flatOut / mmCols;
        int col = flatOut - row * mmCols;
        int outRow = row / mmOut;
        int win = row - outRow * mmOut;
        int start = win * ${MAX_WINDOW};
        int len = mmIn - start;
        int p = (outRow * mmIn + start) * mmCols + col;
        float sum = 0.0;
        for (int i = 0; i < ${MAX_WINDOW}; i++) {
          if (i >= len) {
            break;
          }
          sum += getPartials(p);
          p += mmCols;
        }
        setOutput(sum * mmInvScale);
      }
    `;
    }
  }
}

export interface GradSpec {
  layout: MaskLayout;
  maskSize: number;
  inner: number;
  /** counts input * countScale = the number of valid positions of each output row. */
  countScale: number;
}

/** dx = valid ? dy[row] / count[row] : 0, one element per thread. */
export class MaskedMeanGradProgram extends Base {
  variableNames = ['dy', 'counts', 'mask'];
  outputShape: number[];
  userCode: string;

  constructor(spec: GradSpec) {
    super();
    // Runs after the last kept one never change the output row: leave them undecomposed.
    let kept = spec.layout.all.length;
    while (kept > 0 && spec.layout.all[kept - 1]!.outStride === 0) kept--;
    const all = spec.layout.all.slice(0, kept);
    this.outputShape = [spec.maskSize * spec.inner];
    this.setUniforms(
      new Uniforms()
        .int('mmInner', spec.inner)
        .float('mmCountScale', spec.countScale)
        .ints(
          'mmDimMask',
          all.map((d) => d.maskStride),
        )
        .ints(
          'mmDimOut',
          all.map((d) => d.outStride),
        ),
    );
    this.userCode = `
      void main() {
        int flatOut = getOutputCoords();
        int m = flatOut / mmInner;
        int col = flatOut - m * mmInner;
        float result = 0.0;
        if (getMask(m) > 0.5) {
          int outRow = 0;
          ${decompose('m', 'outRow', 'mmDimMask', 'mmDimOut', all.length)}
          result = getDy(outRow * mmInner + col) / (getCounts(outRow) * mmCountScale);
        }
        setOutput(result);
      }
    `;
  }
}
