import type { SoftmaxDim, SoftmaxGeometry } from '@masked-ops/core';
import {
  EXP_NONPOSITIVE,
  forwardExpr,
  gradExpr,
  ROW_REDUCERS,
  type RowReducerName,
} from '../glsl/softmax.js';
import { FlatProgram, MAX_WINDOW, Uniforms } from './base.js';

/**
 * The masked softmax programs. Row r = (o, i) of the geometry has elements
 * e = (o * n + k) * inner + i and mask offsets maskBase(o, i) + k * maskAxisStride, maskBase
 * decomposing o over the merged outer dims and i over the merged inner dims (their mask strides
 * are 0 where the mask broadcasts): the mask is read where it is, never broadcast-copied. Sizes and
 * strides are uniforms; only the numbers of merged dims and two layout flags are baked in, so a
 * shader is compiled once per structure, not per shape.
 *
 * Addressing is what these programs cost on a CPU emulation such as SwiftShader: tfjs's flat
 * sampler divides by the texture width on every fetch (an integer division by a uniform, which
 * does not vectorise). So the row passes place a texel cursor per input once (one division) and
 * step it along the row (adds and a compare), and the elementwise passes sample an input at the
 * output's own texture coordinate when the two textures have the same layout (checked at run
 * time from tfjs's texture-shape uniforms: a uniform branch), falling back to tfjs's sampler.
 * Every input must be a texture (not a uniform-uploaded tiny tensor): the driver uploads them.
 */

/**
 * GLSL: integer division without the integer divide, and texel cursors over flat unpacked
 * textures (see the module comment). divFast(a, b), a >= 0 and b >= 1 (indices and sizes of
 * textures, < 2^27): a float quotient (vectorised), off by a few units at most where a float32
 * does not hold a exactly, corrected from the remainder twice (the second leaves it off by one at
 * most, the last step fixes that).
 */
const CURSORS = `
      int divFast(int a, int b) {
        float fb = float(b);
        int q = int(float(a) / fb);
        q += int(floor(float(a - q * b) / fb));
        int r = a - q * b;
        if (r < 0) {
          q -= 1;
        } else if (r >= b) {
          q += 1;
        }
        return q;
      }
      ivec2 texelOf(int index, ivec2 tex) {
        int r = divFast(index, tex[1]);
        return ivec2(r, index - r * tex[1]);
      }
      // The cursor moved by a step d as texelOf gives it (d.y < width: one carry at most).
      ivec2 stepTexel(ivec2 rc, ivec2 d, int width) {
        rc += d;
        if (rc.y >= width) {
          rc.y -= width;
          rc.x += 1;
        }
        return rc;
      }
      float fetchTexel(sampler2D tex, ivec2 rc, ivec2 shape) {
        return sampleTexture(tex, (vec2(rc.yx) + halfCR) / vec2(shape.yx));
      }`;

const capital = (n: string): string => n.charAt(0).toUpperCase() + n.slice(1);

/** GLSL `float rowN(int row)` for each per-row input N (m, s, t): its value for a row. */
const rowReaders = (names: readonly string[]): string =>
  names
    .map(
      (n) => `
      float row${capital(n)}(int row) {
        return fetchTexel(${n}, texelOf(row + offset${n}, ${n}TexShape), ${n}TexShape);
      }`,
    )
    .join('');

/** GLSL names of an input's cursor, step and fetched value (`dy` -> c_dy, d_dy, vdy). */
const cursorStart = (name: string, flat: string, step: string): string =>
  `ivec2 c_${name} = texelOf(${flat} + offset${name}, ${name}TexShape);
        ivec2 d_${name} = texelOf(${step}, ${name}TexShape);`;
const cursorStep = (name: string): string =>
  `c_${name} = stepTexel(c_${name}, d_${name}, ${name}TexShape[1]);`;
const cursorFetch = (name: string): string =>
  `float v${name} = fetchTexel(${name}, c_${name}, ${name}TexShape);`;

/** Row-major strides of merged dims (the flat strides `decompose` divides by). */
const flatStrides = (dims: readonly SoftmaxDim[]): number[] => {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let j = dims.length - 1; j >= 0; j--) {
    strides[j] = stride;
    stride *= dims[j]!.size;
  }
  return strides;
};

/** The geometry's uniforms, shared by every program here. */
function geometryUniforms(g: SoftmaxGeometry): Uniforms {
  return new Uniforms()
    .int('uN', g.n)
    .int('uInner', g.inner)
    .int('uAxisMask', g.maskAxisStride)
    .float('uInf', Number.POSITIVE_INFINITY)
    .ints('uOuterFlat', flatStrides(g.outerDims))
    .ints(
      'uOuterMask',
      g.outerDims.map((d) => d.maskStride),
    )
    .ints('uInnerFlat', flatStrides(g.innerDims))
    .ints(
      'uInnerMask',
      g.innerDims.map((d) => d.maskStride),
    );
}

/** GLSL adding to `base` the mask offset of `index` decomposed over n merged dims. */
const decompose = (index: string, flat: string, mask: string, n: number): string =>
  Array.from(
    { length: n },
    (_, j) => `q = divFast(${index}, ${flat}[${j}]);
        ${index} -= q * ${flat}[${j}];
        base += q * ${mask}[${j}];`,
  ).join('\n        ');

/** GLSL `int maskBase(int o, int i)`: the mask offset of element k = 0 of row (o, i). */
const maskBaseFn = (g: SoftmaxGeometry): string => `
      int maskBase(int o, int i) {
        int base = 0;
        int q = 0;
        ${decompose('o', 'uOuterFlat', 'uOuterMask', g.outerDims.length)}
        ${decompose('i', 'uInnerFlat', 'uInnerMask', g.innerDims.length)}
        return base;
      }`;

export interface RowPassSpec {
  reducer: RowReducerName;
  geometry: SoftmaxGeometry;
  /** Windows per row (1: the only pass, writing the final result). */
  windows: number;
  /** The final result's shape ([rows] if not given): see kernels/softmax.ts statsShape. */
  finalShape?: number[];
}

/**
 * First (or only) pass of a row reduction: output [rows * windows], each invocation folding the
 * valid positions of one window of MAX_WINDOW positions of its row. Masked positions are skipped
 * by a branch before any input is read, so NaN/Inf there never reach the state.
 */
export class RowPassProgram extends FlatProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(spec: RowPassSpec) {
    super();
    const g = spec.geometry;
    const reducer = ROW_REDUCERS[spec.reducer];
    const final = spec.windows === 1;
    this.variableNames = [
      'mask',
      ...reducer.elementInputs,
      ...(reducer.rowInput ? [reducer.rowInput] : []),
    ];
    // Partials as [rows, windows]: a 2-D texture, not one texel row ([1, N]), which a CPU
    // emulation such as SwiftShader shades on one thread (it splits work by texture rows).
    this.outputShape = final
      ? (spec.finalShape ?? [g.outer * g.inner])
      : [g.outer * g.inner, spec.windows];
    this.setUniforms(geometryUniforms(g).int('uWindows', spec.windows));
    this.userCode = `
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}
      ${reducer.rowInput ? rowReaders([reducer.rowInput]) : ''}

      void main() {
        // Output texels are row-major whatever the output's shape.
        ivec2 outRC = ivec2(resultUV.yx * vec2(outTexShape));
        int flatOut = outRC.x * outTexShape[1] + outRC.y;
        int row = divFast(flatOut, uWindows);
        int win = flatOut - row * uWindows;
        int o = divFast(row, uInner);
        int i = row - o * uInner;
        int start = win * ${MAX_WINDOW};
        int len = uN - start;
        int e = (o * uN + start) * uInner + i;
        ${cursorStart('mask', 'maskBase(o, i) + start * uAxisMask', 'uAxisMask')}
        ${reducer.elementInputs.map((n) => cursorStart(n, 'e', 'uInner')).join('\n        ')}
        ${reducer.init}
        ${reducer.rowInit ?? ''}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          if (fetchTexel(mask, c_mask, maskTexShape) > 0.5) {
            ${reducer.elementInputs.map(cursorFetch).join('\n            ')}
            ${reducer.fold}
          }
          ${['mask', ...reducer.elementInputs].map(cursorStep).join('\n          ')}
        }
        setOutput(${final ? reducer.final : reducer.partial});
      }
    `;
  }
}

export interface RowMergeSpec {
  reducer: RowReducerName;
  rows: number;
  windowsIn: number;
  windowsOut: number;
  /** As RowPassSpec's. */
  finalShape?: number[];
}

/** Passes after the first: merges up to MAX_WINDOW window results per output. */
export class RowMergeProgram extends FlatProgram {
  variableNames = ['partials'];
  outputShape: number[];
  userCode: string;

  constructor(spec: RowMergeSpec) {
    super();
    const reducer = ROW_REDUCERS[spec.reducer];
    const final = spec.windowsOut === 1;
    this.outputShape = final ? (spec.finalShape ?? [spec.rows]) : [spec.rows, spec.windowsOut];
    this.setUniforms(
      new Uniforms()
        .int('uIn', spec.windowsIn)
        .int('uOut', spec.windowsOut)
        .float('uInf', Number.POSITIVE_INFINITY),
    );
    this.userCode = `
      void main() {
        ivec2 outRC = ivec2(resultUV.yx * vec2(outTexShape));
        int flatOut = outRC.x * outTexShape[1] + outRC.y;
        int row = flatOut / uOut;
        int win = flatOut - row * uOut;
        int start = win * ${MAX_WINDOW};
        int len = uIn - start;
        int q = row * uIn + start;
        ${reducer.init}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          float p = getPartials(q + k);
          ${reducer.merge}
        }
        setOutput(${final ? reducer.final : reducer.partial});
      }
    `;
  }
}

/**
 * How the elementwise programs lay out their output (kernels/softmax.ts elementLayout).
 * 'rows' (softmax along the last axis): the output is [R, j * n], j rows of the logits per texture
 * row, so a texel's row and k follow from its coordinates with no division, and the row
 * statistics are [R, j] (j > 1) or [R] (texture [1, R]): a row's statistic is at texel (r, sub)
 * or (0, r). 'flat': any shape of the logits' size (e.g. the logits' texture shape, so inputs of
 * that layout are read at the output's own texel); rows and mask offsets come from divFast.
 * `direct`: inputs whose texture has the output's layout and no offset (known in JS, so the
 * shader has no branch for it: a CPU emulation runs both sides of a branch).
 */
export type ElementLayout =
  | { kind: 'rows'; shape: [number, number]; split: boolean; direct: readonly string[] }
  | { kind: 'flat'; shape: number[] };

/**
 * GLSL `float readN(int e)` for each input N: the input at the output's element e, sampled at the
 * output's texture coordinate when its texture has the output's layout, else placed by divFast.
 */
const readers = (names: readonly string[], layout: ElementLayout): string =>
  names
    .map((n) => {
      const placed = `fetchTexel(${n}, texelOf(e + offset${n}, ${n}TexShape), ${n}TexShape)`;
      const body =
        layout.kind === 'rows'
          ? layout.direct.includes(n)
            ? `return sampleTexture(${n}, resultUV);`
            : `return ${placed};`
          : `if (${n}TexShape == outTexShape && offset${n} == 0) {
          return sampleTexture(${n}, resultUV);
        }
        return ${placed};`;
      return `
      float read${capital(n)}(int e) {
        ${body}
      }`;
    })
    .join('');

/**
 * GLSL: the output element e from the output texel, its row, k, the texel of the row's
 * statistics (`statRC`, a cursor into any [rows]-layout texture), and mask validity. `fullMask`
 * (the mask has the logits' size, so its offset is e) reads the mask like the other inputs.
 */
const elementPrologue = (g: SoftmaxGeometry, layout: ElementLayout, fullMask: boolean): string => {
  let place: string;
  if (layout.kind === 'rows') {
    // sub = c / n in float: c < 2^13, so (c + 0.5) / n is off by far less than 0.5 / n.
    place = `
        int sub = ${layout.split ? 'int((float(outRC.y) + 0.5) / float(uN))' : '0'};
        int k = outRC.y - sub * uN;
        int row = outRC.x * uSplit + sub;
        int o = row;
        int i = 0;
        ivec2 statRC = ${layout.split ? 'ivec2(outRC.x, sub)' : 'ivec2(0, outRC.x)'};`;
  } else if (g.inner === 1) {
    place = `
        int o = divFast(e, uN);
        int k = e - o * uN;
        int i = 0;
        int row = o;`;
  } else {
    place = `
        int span = uN * uInner;
        int o = divFast(e, span);
        int rest = e - o * span;
        int k = divFast(rest, uInner);
        int i = rest - k * uInner;
        int row = o * uInner + i;`;
  }
  return `
        ivec2 outRC = ivec2(resultUV.yx * vec2(outTexShape));
        int e = outRC.x * outTexShape[1] + outRC.y;
        ${place}
        bool valid = ${
          fullMask
            ? 'readMask(e)'
            : `fetchTexel(mask, texelOf(maskBase(o, i) + k * uAxisMask + offsetmask, maskTexShape),
            maskTexShape)`
        } > 0.5;`;
};

/**
 * GLSL `float rowN()` for each per-row input N (m, s, t): the row's statistic, at statRC in the
 * 'rows' layout, else placed by divFast.
 */
const elementRowReaders = (names: readonly string[], layout: ElementLayout): string =>
  names
    .map((n) =>
      layout.kind === 'rows'
        ? `
      #define row${capital(n)}(row) fetchTexel(${n}, statRC, ${n}TexShape)`
        : `
      #define row${capital(n)}(row) fetchTexel(${n}, texelOf((row) + offset${n}, ${n}TexShape), ${n}TexShape)`,
    )
    .join('');

const elementUniforms = (g: SoftmaxGeometry, layout: ElementLayout): Uniforms =>
  layout.kind === 'rows'
    ? geometryUniforms(g).int('uSplit', layout.shape[1] / g.n)
    : geometryUniforms(g);

/**
 * The forward output from x, the row shift m and the row sum/status s (glsl/softmax.ts):
 * one invocation per element, x read only at valid positions of normal rows.
 */
export class SoftmaxOutputProgram extends FlatProgram {
  variableNames = ['x', 'mask', 'm', 's'];
  outputShape: number[];
  userCode: string;

  /** `fullMask`: the mask has the logits' size (so no broadcast dim: its offset of e is e). */
  constructor(g: SoftmaxGeometry, layout: ElementLayout, fullMask: boolean, log: boolean) {
    super();
    this.outputShape = [...layout.shape];
    this.setUniforms(elementUniforms(g, layout));
    this.userCode = `
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}
      ${readers(fullMask ? ['x', 'mask'] : ['x'], layout)}
      ${elementRowReaders(['m', 's'], layout)}

      void main() {
        ${elementPrologue(g, layout, fullMask)}
        float s = rowS(row);
        float result;
        ${forwardExpr(log)}
        setOutput(result);
      }
    `;
  }
}

/** dx = valid ? f(dy, y, t) : 0, t the row statistic; dy and y read only at valid positions. */
export class SoftmaxGradProgram extends FlatProgram {
  variableNames = ['dy', 'mask', 'y', 't'];
  outputShape: number[];
  userCode: string;

  /** As SoftmaxOutputProgram's. */
  constructor(g: SoftmaxGeometry, layout: ElementLayout, fullMask: boolean, log: boolean) {
    super();
    this.outputShape = [...layout.shape];
    this.setUniforms(elementUniforms(g, layout));
    this.userCode = `
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}
      ${readers(fullMask ? ['dy', 'y', 'mask'] : ['dy', 'y'], layout)}
      ${elementRowReaders(['t'], layout)}

      void main() {
        ${elementPrologue(g, layout, fullMask)}
        float result = 0.0;
        if (valid) {
          float t = rowT(row);
          result = ${gradExpr(log)};
        }
        setOutput(result);
      }
    `;
  }
}
