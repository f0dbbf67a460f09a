import { env } from '@tensorflow/tfjs-core';
import { type WindowReducerName, windowReducer } from '../glsl/reducers.js';
import { type CustomUniform, MAX_WINDOW, type MaskedProgram, Uniforms } from './base.js';

/** Positions per texel step: a step reads one texel of x and one of the mask (four values). */
export const TEXEL_LANES = 4;

/**
 * Texel steps per window of the texel path: a window covers MAX_WINDOW positions, as a window of
 * the other first passes does, so it carries their scale (1 / MAX_WINDOW). Windows of 1024
 * positions ran no faster on SwiftShader, and their 1 / 1024 left partials of small values two
 * bits deeper in half-float's subnormal range (a lone valid 1.0059 came out as 1 after a second
 * pass scaled them by 1 / 256 more).
 */
export const TEXEL_STEPS = MAX_WINDOW / TEXEL_LANES;

export interface TexelWindowSpec {
  /** A reducer of x, of a term of x and the scalar y, or of the mask alone (the count). */
  reducer: WindowReducerName;
  /**
   * true: x and the mask are packed textures of one [B, R, C] view (tfjs's 2x2 blocks); a texel
   * holds up to four positions. false: unpacked textures of one flat order; a step reads four
   * consecutive texels of each.
   */
  packed: boolean;
  /** Positions (x's size, which is the mask's). */
  size: number;
  /** packed: R and C of the [B, R, C] view (which slots past an odd R or C hold no value). */
  rows: number;
  cols: number;
  /** Texel steps in all (packed: B * ceil(R/2) * ceil(C/2); unpacked: ceil(size / 4)). */
  steps: number;
  windows: number;
  /** Power of two multiplying the values and the count of sum-like reducers (exact). */
  scale: number;
  /**
   * x and the mask have one texture shape (and flat offset): one walker and one texture
   * coordinate serve both.
   */
  shared: boolean;
  /**
   * Unpacked: every texture is a multiple of four texels wide and starts (flat offset) at a
   * multiple of four, so a step's four texels lie in one texture row.
   */
  aligned: boolean;
}

/**
 * First pass of a reduction of every position of x (the per-token-loss form: x and the mask of
 * one shape, every axis reduced). Every position has the same output, so no position needs its
 * output row: the pass walks the textures in their own texel order, computing each texture
 * coordinate by a step (no division per position, unlike the flat samplers), and reads a packed
 * texture a texel (four positions) at a time, which is what makes this form faster than tfjs's own
 * reduce (one read of an unpacked texel per position). The windows' partials (accumulator and
 * scaled valid count, the layout CombineProgram reads once unpacked) are written packed, two
 * windows per invocation (four counts for the count), so one invocation computes both of a
 * window's values.
 *
 * The textures are sampled directly (`x` and `mask`, their texture shapes from tfjs's shape
 * uniforms, the flat offset of an unpacked slice from its offset uniform), not through getX and
 * getMask. Masked-out positions and slots past the data never reach an accumulator: the four
 * positions of a step fold into vec4 lanes by selects (sum-like reducers add a selected 0, never
 * a product with 0, so a NaN or Inf there stays out; the extremes keep the lane, see
 * GlslReducer.lanes), or, for a reducer without a lane fold (the pivot), behind a branch each.
 */
export class TexelWindowProgram implements MaskedProgram {
  readonly variableNames: string[];
  readonly packedInputs: boolean;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];
  /**
   * Window slots of the output: unpacked and flat, it is `slots` (accumulator, count) pairs (just
   * counts for a mask-only reducer), in some order (every window has the one output), the slots
   * past the windows empty (count 0, which the combine passes skip).
   */
  readonly slots: number;

  constructor(spec: TexelWindowSpec) {
    const reducer = windowReducer(spec.reducer);
    const readsX = reducer.source !== 'mask';
    const readsY = reducer.source === 'xy';
    const { packed } = spec;
    this.packedInputs = packed;
    this.variableNames = readsY ? ['x', 'mask', 'y'] : readsX ? ['x', 'mask'] : ['mask'];
    // Windows per output texel: two (accumulator, count) pairs, or four counts. The texels form
    // a squarish grid: a narrow render target (one texel wide) left half of SwiftShader's 2x2
    // fragment quads idle, which made the pass about 1.5x slower.
    const perTexel = readsX ? 2 : 4;
    const texels = Math.ceil(spec.windows / perTexel);
    const gridCols = Math.ceil(Math.sqrt(texels));
    const gridRows = Math.ceil(texels / gridCols);
    this.slots = gridRows * gridCols * perTexel;
    this.outputShape = [2 * gridRows, 2 * gridCols];
    const halfRows = Math.ceil(spec.rows / 2);
    const halfCols = Math.ceil(spec.cols / 2);
    const u = new Uniforms()
      .int('uSize', spec.size)
      .int('uSteps', spec.steps)
      .int('uWindows', spec.windows)
      .int('uGridCols', gridCols)
      .int('uHalfRows', halfRows)
      .int('uHalfCols', halfCols)
      // The texel column (row) whose second slots lie past an odd C (R); -1 when it is even.
      .int('uPadCol', spec.cols % 2 === 1 ? halfCols - 1 : -1)
      .int('uPadRow', spec.rows % 2 === 1 ? halfRows - 1 : -1)
      .float('uScale', spec.scale)
      .float('uInf', Number.POSITIVE_INFINITY);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;

    const texture = env().getNumber('WEBGL_VERSION') === 2 ? 'texture' : 'texture2D';
    const inputs = readsX ? ['x', 'mask'] : ['mask'];
    // The walkers: each input's texel (C, R) in a texture W texels wide, or one for both.
    const walkers = spec.shared ? [inputs[0]!] : inputs;
    const walkerOf = (name: string) => (spec.shared ? inputs[0]! : name);
    const size = (name: string) => (packed ? `((${name}TexShape + 1) / 2)` : `${name}TexShape`);
    const declare = walkers
      .map(
        (name) => `ivec2 ${name}Tex = ${size(name)};
          int ${name}W = ${name}Tex.y;
          vec2 ${name}Size = vec2(${name}Tex.y, ${name}Tex.x);
          vec2 ${name}Du = vec2(1.0 / ${name}Size.x, 0.0);`,
      )
      .join('\n          ');
    const start = (name: string) =>
      `int ${name}R = ${name}K / ${name}W;
            int ${name}C = ${name}K - ${name}R * ${name}W;`;
    const uv = (w: string) => `${w}UV = (vec2(${w}C, ${w}R) + 0.5) / ${w}Size;`;
    const step = (name: string, by = 1) => `${name}C += ${by};
              if (${name}C == ${name}W) {
                ${name}C = 0;
                ${name}R++;
              }`;
    const target = (name: string) => (name === 'x' ? 'xv' : 'mv');
    // One texel step: vec4 `mv` (and `xv`) of the step's four positions.
    const read = packed
      ? `${walkers.map(uv).join(' ')}
            ${inputs.map((name) => `vec4 ${target(name)} = ${texture}(${name}, ${walkerOf(name)}UV);`).join('\n            ')}
            ${walkers.map((w) => step(w)).join('\n            ')}`
      : spec.aligned
        ? // The step's four texels lie in one row of each texture: one coordinate, three offsets.
          `${walkers.map(uv).join(' ')}
            ${inputs
              .map((name) => {
                const w = walkerOf(name);
                const at = (j: number) =>
                  `${texture}(${name}, ${w}UV${j === 0 ? '' : ` + ${j}.0 * ${w}Du`}).r`;
                return `vec4 ${target(name)} = vec4(${[0, 1, 2, 3].map(at).join(', ')});`;
              })
              .join('\n            ')}
            ${walkers.map((w) => step(w, 4)).join('\n            ')}`
        : `vec4 mv;
            ${readsX ? 'vec4 xv;' : ''}
            ${[0, 1, 2, 3]
              .map(
                (j) => `${walkers.map(uv).join(' ')}
            ${inputs.map((name) => `${target(name)}[${j}] = ${texture}(${name}, ${walkerOf(name)}UV).r;`).join('\n            ')}
            ${walkers.map((w) => step(w)).join('\n            ')}`,
              )
              .join('\n            ')}`;
    // Which of the four slots are valid positions: the mask, and the slot holds data.
    const validity = packed
      ? `bvec4 valid = greaterThan(mv, vec4(0.5));
            if (cp == uPadCol) {
              valid.y = false;
              valid.w = false;
            }
            if (rp == uPadRow) {
              valid.z = false;
              valid.w = false;
            }
            cp++;
            if (cp == uHalfCols) {
              cp = 0;
              rp++;
              if (rp == uHalfRows) {
                rp = 0;
              }
            }`
      : `bvec4 valid = bvec4(mv.x > 0.5 && left > 0, mv.y > 0.5 && left > 1,
                                  mv.z > 0.5 && left > 2, mv.w > 0.5 && left > 3);
            left -= 4;`;
    const value = (v: string) => (readsY ? reducer.term!(v, 'yv') : v);
    const lanes = ['x', 'y', 'z', 'w'];
    // The step's four values (or terms of x and y), one per lane.
    const terms = readsY ? `vec4(${lanes.map((l) => value(`xv.${l}`)).join(', ')})` : 'xv';
    const counted = 'count += dot(vec4(valid), vec4(uScale));';
    let fold: string;
    let total: string;
    let init = '0.0';
    if (!readsX) {
      fold = counted;
      total = 'count';
    } else if (reducer.lanes) {
      fold = `vec4 v = ${terms};
            ${reducer.lanes.fold('acc4', 'v', 'valid')}
            ${counted}`;
      init = reducer.lanes.identity;
      total = reducer.lanes.total('acc4');
    } else if (reducer.scaled) {
      // Sum-like: 0 is their identity, so each lane folds its value or a selected 0.
      fold = `vec4 v = ${terms};
            v = vec4(${lanes.map((l) => `valid.${l} ? v.${l} : 0.0`).join(', ')});
            ${reducer.update('acc4', 'v', 'false')}
            ${counted}`;
      total = 'acc4.x + acc4.y + acc4.z + acc4.w';
    } else {
      // The pivot: each valid slot folds in turn into one accumulator (its loop stops at the
      // first one).
      fold = lanes
        .map(
          (l) => `if (valid.${l}) {
              ${reducer.update('acc', value(`xv.${l}`), 'count == 0.0')}
              count += uScale;
            }`,
        )
        .join('\n            ');
      if (reducer.stopAtFirst) {
        fold += `
            if (count > 0.0) {
              break;
            }`;
      }
      total = 'acc';
    }
    const yRead = packed ? 'getY(0, 0).x' : 'getY(0)';
    this.userCode = `
      ${reducer.functions ?? ''}
      void main() {
        ivec2 rc = getOutputCoords();
        ${readsY ? `float yv = ${yRead};` : ''}
        ${declare}
        vec4 result = vec4(0.0);
        int texel = (rc.x / 2) * uGridCols + rc.y / 2;
        for (int h = 0; h < ${perTexel}; h++) {
          int win = texel * ${perTexel} + h;
          if (win >= uWindows) {
            break;
          }
          int k = win * ${TEXEL_STEPS};
          int len = uSteps - k;
          ${
            packed
              ? walkers.map((name) => `int ${name}K = k;`).join(' ')
              : `int left = uSize - k * 4;
          ${walkers.map((name) => `int ${name}K = k * 4 + offset${name};`).join(' ')}`
          }
          ${walkers.map(start).join('\n          ')}
          ${walkers.map((w) => `vec2 ${w}UV;`).join(' ')}
          ${
            packed
              ? `int batchTexels = uHalfRows * uHalfCols;
          int inBatch = k - (k / batchTexels) * batchTexels;
          int rp = inBatch / uHalfCols;
          int cp = inBatch - rp * uHalfCols;`
              : ''
          }
          vec4 acc4 = vec4(${init});
          float nans = 0.0;
          float acc = 0.0;
          float count = 0.0;
          for (int i = 0; i < ${TEXEL_STEPS}; i++) {
            if (i >= len) {
              break;
            }
            ${read}
            ${validity}
            ${fold}
          }
          float total = ${total};
          ${
            readsX
              ? `if (h == 0) {
            result.xy = vec2(total, count);
          } else {
            result.zw = vec2(total, count);
          }`
              : `if (h == 0) {
            result.x = count;
          } else if (h == 1) {
            result.y = count;
          } else if (h == 2) {
            result.z = count;
          } else {
            result.w = count;
          }`
          }
        }
        setOutput(result);
      }
    `;
  }
}
