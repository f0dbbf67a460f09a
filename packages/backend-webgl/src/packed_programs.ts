import type { MaskLayout } from './layout.js';
import {
  advance,
  type CustomUniform,
  decompose,
  MAX_WINDOW,
  type MaskedProgram,
  Uniforms,
} from './programs.js';

/**
 * Texel steps per shader loop on the packed path: each step covers two time positions (one texel
 * row pair), so a window still sums at most MAX_WINDOW positions per accumulator.
 */
export const MAX_STEPS = MAX_WINDOW / 2;

export interface PackedWindowSpec {
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
  /** Reduced texel steps per output row: (reduced leading positions) * ceil(T / 2). */
  totalSteps: number;
  /** Windows per output row (1 for 'mean'). */
  windows: number;
  /** Steps per window (<= MAX_STEPS). */
  windowSteps: number;
  /** Applied to partial sums and counts ('partial'): a power of two, so exact. */
  invScale: number;
  /**
   * 'mean': output [keptSize, F] = the masked means (0 where nothing is valid).
   * 'partial': output [keptSize * windows, F + 1]: per window the masked sums of each feature
   *   and, in column F, the valid count, all times invScale (the layout CombineProgram reads once
   *   unpacked).
   */
  mode: 'mean' | 'partial';
}

/**
 * First (or only) pass over a packed x, without unpacking it. tfjs packs a tensor [.., T, F] in
 * RGBA texels of 2x2 blocks: (t, f), (t, f+1), (t+1, f), (t+1, f+1) in r, g, b, a; x is read as a
 * 3-D view [P, T, F] (P = the leading dims, a free view of a packed texture) and the mask, packed
 * as well, as [Q, S, T] (S its second-to-last dim). The output is packed too: one invocation
 * writes a 2x2 block (two output rows, two features), reading each texel of x it needs once.
 *
 * Masked-out positions are skipped by branches (never multiplied by 0), as on the unpacked path;
 * texel slots past an odd T or F are never read into a sum that is written, and output slots past
 * the logical shape are written as 0.
 */
export class PackedMaskedWindowProgram implements MaskedProgram {
  readonly variableNames = ['x', 'mask'];
  readonly packedInputs = true;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: PackedWindowSpec) {
    const { layout, mode } = spec;
    const nk = layout.kept.length;
    const nr = layout.reduced.length;
    const rows = spec.keptSize * spec.windows;
    this.outputShape = [rows, mode === 'mean' ? spec.inner : spec.inner + 1];
    const u = new Uniforms()
      .int('mmRows', rows)
      .int('mmInner', spec.inner)
      .int('mmRowLen', spec.rowLen)
      .int('mmHalfRow', Math.ceil(spec.rowLen / 2))
      .int('mmMaskRows', spec.maskRows)
      .int('mmWindows', spec.windows)
      .int('mmWindowSteps', spec.windowSteps)
      .int('mmTotalSteps', spec.totalSteps)
      .float('mmInvScale', spec.invScale)
      .layout(layout);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    const odometer = Array.from({ length: nr }, (_, j) => `int r${j} = 0;`).join(' ');
    const values =
      mode === 'mean'
        ? `vec2 vals = count > 0.0 ? sum / count : vec2(0.0);
          if (col + 1 >= mmInner) {
            vals.y = 0.0;
          }`
        : `vec2 vals = vec2(
            col < mmInner ? sum.x : (col == mmInner ? count : 0.0),
            col + 1 < mmInner ? sum.y : (col + 1 == mmInner ? count : 0.0)) * mmInvScale;`;
    this.userCode = `
      void main() {
        ivec2 rc = getOutputCoords();
        int col = rc.y;
        bool wantX = col < mmInner;
        vec4 result = vec4(0.0);
        for (int h = 0; h < 2; h++) {
          int row = rc.x + h;
          if (row >= mmRows) {
            break;
          }
          int outRow = row / mmWindows;
          int win = row - outRow * mmWindows;

          int base = 0;
          ${decompose('outRow', 'base', 'mmKeptFlat', 'mmKeptMask', nk)}

          int start = win * mmWindowSteps;
          int len = mmTotalSteps - start;
          if (len > mmWindowSteps) {
            len = mmWindowSteps;
          }
          int lead = start / mmHalfRow;
          int t = (start - lead * mmHalfRow) * 2;
          int off = 0;
          ${odometer}
          ${decompose('lead', 'off', 'mmRedFlat', 'mmRedMask', nr, 'r')}

          vec2 sum = vec2(0.0);
          float count = 0.0;
          for (int i = 0; i < ${MAX_STEPS}; i++) {
            if (i >= len) {
              break;
            }
            int p = base + off;
            int q = p / mmMaskRows;
            int s = p - q * mmMaskRows;
            vec4 m4 = getMask(q, s, t);
            vec2 m = s - (s / 2) * 2 == 0 ? m4.xy : m4.zw;
            bool v0 = m.x > 0.5;
            bool v1 = t + 1 < mmRowLen && m.y > 0.5;
            if (v0) {
              count += 1.0;
            }
            if (v1) {
              count += 1.0;
            }
            if (wantX && (v0 || v1)) {
              vec4 xt = getX(p, t, col);
              if (v0) {
                sum += xt.xy;
              }
              if (v1) {
                sum += xt.zw;
              }
            }
            t += 2;
            if (t >= mmRowLen) {
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

export interface PackedGradSpec {
  layout: MaskLayout;
  /** x viewed as [P, R, C]: its last two dims (R, C) fix the packed layout. */
  xView: [number, number, number];
  /** Values per mask position (the product of x's dims after the mask's). */
  inner: number;
  /** counts input * countScale = the number of valid positions of each output row. */
  countScale: number;
}

/**
 * dx = valid ? dy[row] / count[row] : 0 written as a packed texture: one invocation writes a 2x2
 * block of x's two innermost dims (a quarter of the invocations of the unpacked program, and the
 * mask and count are read once for two features of one position). Inputs are read unpacked, flat.
 */
export class MaskedMeanGradPackedProgram implements MaskedProgram {
  readonly variableNames = ['dy', 'counts', 'mask'];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(spec: PackedGradSpec) {
    // Runs after the last kept one never change the output row: leave them undecomposed.
    let kept = spec.layout.all.length;
    while (kept > 0 && spec.layout.all[kept - 1]!.outStride === 0) kept--;
    const all = spec.layout.all.slice(0, kept);
    this.outputShape = [...spec.xView];
    const u = new Uniforms()
      .int('mmInner', spec.inner)
      .int('mmRows', spec.xView[1])
      .int('mmCols', spec.xView[2])
      .float('mmCountScale', spec.countScale)
      .ints(
        'mmDimMask',
        all.map((d) => d.maskStride),
      )
      .ints(
        'mmDimOut',
        all.map((d) => d.outStride),
      );
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    this.userCode = `
      // The valid count of mask position m's output row (0 where m is masked out) and the offset
      // of that row in dy.
      float countOf(int m, out int dyBase) {
        dyBase = 0;
        if (getMask(m) <= 0.5) {
          return 0.0;
        }
        int outRow = 0;
        ${decompose('m', 'outRow', 'mmDimMask', 'mmDimOut', all.length)}
        dyBase = outRow * mmInner;
        return getCounts(outRow) * mmCountScale;
      }

      void main() {
        ivec3 rc = getOutputCoords();
        bool second = rc.z + 1 < mmCols;
        vec4 result = vec4(0.0);
        for (int h = 0; h < 2; h++) {
          int r = rc.y + h;
          if (r >= mmRows) {
            break;
          }
          int e = (rc.x * mmRows + r) * mmCols + rc.z;
          int m = e / mmInner;
          int col = e - m * mmInner;
          int dyBase;
          float count = countOf(m, dyBase);
          vec2 vals = vec2(0.0);
          if (count > 0.0) {
            vals.x = getDy(dyBase + col) / count;
          }
          if (second) {
            if (col + 1 < mmInner) {
              if (count > 0.0) {
                vals.y = getDy(dyBase + col + 1) / count;
              }
            } else {
              int dyBase1;
              float count1 = countOf(m + 1, dyBase1);
              if (count1 > 0.0) {
                vals.y = getDy(dyBase1) / count1;
              }
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
