import type { SoftmaxDim, SoftmaxGeometry } from '@masked-ops/core';
import { env } from '@tensorflow/tfjs-core';
import {
  EXP_NONPOSITIVE,
  forwardAt,
  gradAt,
  onlineFold,
  onlineInit,
  onlineMerge,
  onlineResult,
  ROW_REDUCERS,
  type RowReducerName,
} from '../glsl/softmax.js';
import {
  type CustomUniform,
  FlatProgram,
  MAX_WINDOW,
  type MaskedProgram,
  Uniforms,
} from './base.js';

/**
 * The masked softmax programs. Row r = (o, i) of the geometry has elements
 * e = (o * n + k) * inner + i and mask offsets maskBase(o, i) + k * maskAxisStride, maskBase
 * decomposing o over the merged outer dims and i over the merged inner dims (their mask strides
 * are 0 where the mask broadcasts): the mask is read where it is, never broadcast-copied. Sizes and
 * strides are uniforms; only the numbers of merged dims, where the mask broadcasts and a few
 * layout flags are baked in, so a shader is compiled once per structure, not per shape.
 *
 * Addressing is what these programs cost on a CPU emulation such as SwiftShader: tfjs's flat
 * sampler divides by the texture width on every fetch (an integer division by a uniform, which
 * does not vectorise). So the row passes place a texel cursor per input once (one division) and
 * step it along the row (adds and a compare), and the elementwise passes sample an input at the
 * output's own texture coordinate when the two textures have the same layout (checked at run
 * time from tfjs's texture-shape uniforms: a uniform branch), falling back to tfjs's sampler.
 * Every input must be a texture (not a uniform-uploaded tiny tensor): the driver uploads them.
 * The packed programs (PackedLayout, OnlineRowPassProgram) write tfjs's packed textures, a
 * quarter of the invocations, and read packed statistics and y raw (kernels/softmax.ts runRaw).
 * Measured on SwiftShader and dropped: texelFetch instead of a normalised-coordinate sample (no
 * faster), branch-free folds over masked positions (slower where many positions are masked).
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

/** GLSL's texture function (WebGL 2 or 1): a raw RGBA read. */
const texture2D = (): string => (env().getNumber('WEBGL_VERSION') === 2 ? 'texture' : 'texture2D');

/**
 * The same over a raw packed input: a packed [R, n] texture (tfjs's 2x2 texels: rows 2r, 2r + 1,
 * columns 2c, 2c + 1; its texture shape uniform is [R, n rounded up to even], the texture half
 * that) read by a row program with inner 1 (the gradient's y, the packed forward output): the
 * cursor is the texel of (row, start), the row's channels are z, w for an odd row, x, y else,
 * and two positions share a texel. start is even (a multiple of MAX_WINDOW).
 */
const rawCursorStart = (name: string): string =>
  `ivec2 c_${name} = ivec2(row / 2, start / 2);
        bool odd_${name} = row != 2 * (row / 2);
        bool hi_${name} = false;
        vec2 size_${name} = ceil(vec2(${name}TexShape.yx) * 0.5);`;
const rawCursorStep = (name: string): string =>
  `if (hi_${name}) {
            c_${name}.y += 1;
          }
          hi_${name} = !hi_${name};`;
const rawCursorFetch = (name: string): string =>
  `vec4 t_${name} = ${texture2D()}(${name}, (vec2(c_${name}.yx) + halfCR) / size_${name});
            float v${name} = hi_${name} ? (odd_${name} ? t_${name}.w : t_${name}.y)
              : (odd_${name} ? t_${name}.z : t_${name}.x);`;

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

/**
 * GLSL comment naming the geometry's uniform arrays. tfjs keys its shader cache on the user code,
 * not on the custom uniforms' declarations, and a shader may leave a dim's uniforms unread
 * (decompose): this keeps two programs whose uniform lists differ from sharing a binary (whose
 * uniform locations would then not match the values).
 */
const geometryKey = (g: SoftmaxGeometry): string =>
  `// merged dims: outer ${g.outerDims.length}, inner ${g.innerDims.length}`;

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

/**
 * GLSL adding to `base` the mask offset of `index` decomposed over `dims` (their flat strides and
 * mask strides are the uniforms `flat`, `mask`). Divisions are what cost (see CURSORS), so only
 * the dims up to the last one the mask does not broadcast along are decomposed (the rest add 0),
 * and the innermost dim needs no division (its flat stride is 1). A key-padding mask [B,1,1,L]
 * over [B,H,Q,L] costs one division; a full mask none.
 */
const decompose = (
  index: string,
  flat: string,
  mask: string,
  dims: readonly SoftmaxDim[],
): string => {
  let n = dims.length;
  while (n > 0 && dims[n - 1]!.maskStride === 0) n--;
  return Array.from({ length: n }, (_, j) => {
    if (j === dims.length - 1) return `base += ${index} * ${mask}[${j}];`;
    const q = `q = divFast(${index}, ${flat}[${j}]);`;
    return j === n - 1
      ? `${q}
        base += q * ${mask}[${j}];`
      : `${q}
        ${index} -= q * ${flat}[${j}];
        base += q * ${mask}[${j}];`;
  }).join('\n        ');
};

/**
 * GLSL `int maskBase(int o, int i)`: the mask offset of element k = 0 of row (o, i). Which dims
 * are decomposed depends on where the mask broadcasts (structure), not on sizes.
 */
const maskBaseFn = (g: SoftmaxGeometry): string => `
      int maskBase(int o, int i) {
        int base = 0;
        int q = 0;
        ${decompose('o', 'uOuterFlat', 'uOuterMask', g.outerDims)}
        ${decompose('i', 'uInnerFlat', 'uInnerMask', g.innerDims)}
        return base;
      }`;

export interface RowPassSpec {
  reducer: RowReducerName;
  geometry: SoftmaxGeometry;
  /** Windows per row (1: the only pass, writing the final result). */
  windows: number;
  /** The final result's shape ([rows] if not given): see kernels/softmax.ts statsShape. */
  finalShape?: number[];
  /** Inputs read as raw packed textures (see rawCursorStart; inner 1 only). */
  raw?: readonly string[];
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
    const raw = spec.raw ?? [];
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
      ${geometryKey(g)}
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
        ${
          raw.includes('mask')
            ? rawCursorStart('mask')
            : cursorStart('mask', 'maskBase(o, i) + start * uAxisMask', 'uAxisMask')
        }
        ${reducer.elementInputs
          .map((n) => (raw.includes(n) ? rawCursorStart(n) : cursorStart(n, 'e', 'uInner')))
          .join('\n        ')}
        ${reducer.init}
        ${reducer.rowInit ?? ''}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          ${
            raw.includes('mask')
              ? rawCursorFetch('mask')
              : 'float vmask = fetchTexel(mask, c_mask, maskTexShape);'
          }
          if (vmask > 0.5) {
            ${reducer.elementInputs
              .map((n) => (raw.includes(n) ? rawCursorFetch(n) : cursorFetch(n)))
              .join('\n            ')}
            ${reducer.fold}
          }
          ${['mask', ...reducer.elementInputs]
            .map((n) => (raw.includes(n) ? rawCursorStep(n) : cursorStep(n)))
            .join('\n          ')}
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
      ${geometryKey(g)}
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}
      ${readers(fullMask ? ['x', 'mask'] : ['x'], layout)}
      ${elementRowReaders(['m', 's'], layout)}
      ${forwardAt(log)}

      void main() {
        ${elementPrologue(g, layout, fullMask)}
        float s = rowS(row);
        // x and m are read only at valid positions of normal rows (s > 0).
        bool normal = valid && s > 0.0;
        setOutput(forwardAt(valid, normal ? readX(e) : 0.0, normal ? rowM(row) : 0.0, s, rowScale(s)));
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
      ${geometryKey(g)}
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}
      ${readers(fullMask ? ['dy', 'y', 'mask'] : ['dy', 'y'], layout)}
      ${elementRowReaders(['t'], layout)}
      ${gradAt(log)}

      void main() {
        ${elementPrologue(g, layout, fullMask)}
        float result = 0.0;
        if (valid) {
          result = gradAt(readDy(e), readY(e), rowT(row));
        }
        setOutput(result);
      }
    `;
  }
}

/**
 * The packed elementwise layout: softmax along the last axis (inner 1), an even number R of rows,
 * the output written as a packed [R, n] texture (tfjs's 2x2 texels: rows 2r, 2r + 1, columns 2c,
 * 2c + 1), so one invocation writes two elements of two rows. A CPU emulation such as SwiftShader
 * pays per invocation (its set-up, the output coordinates, a row's mask offset and statistics
 * fetches): a quarter of the invocations of the unpacked layout, as tfjs's own packed
 * elementwise programs. The row statistics are [R / 2, 2] (a row pair per texel row).
 * `direct`: inputs whose (unpacked) texture is [R, n] with no offset, read without a division.
 */
export interface PackedLayout {
  rows: number;
  direct: readonly string[];
  /**
   * Inputs in a packed texture of this very layout (x packed by tfjs or uploaded packed, the
   * gradient's y: the packed forward output), read raw at the output's own texel: one read for
   * the four elements.
   */
  raw?: readonly string[];
}

/**
 * GLSL `vec2 pairN(int row, int k)` for each input N: its elements (row, k) and (row, k + 1),
 * the second through a texel cursor one step on (k + 1 may be n when n is odd: a value the caller
 * drops). The mask, when not of the logits' size, is addressed through maskBase. A raw input
 * (PackedLayout.raw) is read at the output's texel.
 */
const pairReaders = (names: readonly string[], layout: PackedLayout, fullMask: boolean): string =>
  names
    .map((n) => {
      if (layout.raw?.includes(n)) {
        // The output's own texel holds the row pair's two elements each.
        return `
      vec2 pair${capital(n)}(int row, int k) {
        vec4 t = ${texture2D()}(${n}, resultUV);
        return row == 2 * (row / 2) ? t.xy : t.zw;
      }`;
      }
      const broadcast = n === 'mask' && !fullMask;
      const start = layout.direct.includes(n)
        ? 'ivec2(row, k)'
        : broadcast
          ? 'texelOf(maskBase(row, 0) + k * uAxisMask + offsetmask, maskTexShape)'
          : `texelOf(row * uN + k + offset${n}, ${n}TexShape)`;
      const step = broadcast ? 'ivec2(0, uAxisMask)' : 'ivec2(0, 1)';
      return `
      vec2 pair${capital(n)}(int row, int k) {
        ivec2 rc = ${start};
        ivec2 rc1 = stepTexel(rc, ${step}, ${n}TexShape[1]);
        return vec2(fetchTexel(${n}, rc, ${n}TexShape), fetchTexel(${n}, rc1, ${n}TexShape));
      }`;
    })
    .join('');

/** Base of the packed elementwise programs: `body(h)` computes the vec2 `res${h}` of row h. */
abstract class PackedElementProgram implements MaskedProgram {
  abstract variableNames: string[];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode = '';
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(g: SoftmaxGeometry, layout: PackedLayout) {
    this.outputShape = [layout.rows, g.n];
    const u = geometryUniforms(g).int('uRows', layout.rows);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    this.key = geometryKey(g);
  }

  private readonly key: string;

  protected code(functions: string, body: (h: number) => string): string {
    const row = (h: number) => `
        {
          int row = rowA + ${h};
          ivec2 statRC = ivec2(texel.x, ${h});
          ${body(h)}
        }`;
    return `
      ${this.key}
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${functions}

      void main() {
        // The packed texture is ceil(texShape / 2) (tfjs's layout of a packed [R, n]).
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        int rowA = 2 * texel.x;
        int k = 2 * texel.y;
        // n odd: the last texel column's second element is padding (written 0).
        bool second = k + 1 < uN;
        vec2 res0;
        vec2 res1;
        ${row(0)}
        ${row(1)}
        setOutput(vec4(res0.x, second ? res0.y : 0.0, res1.x, second ? res1.y : 0.0));
      }
    `;
  }
}

/**
 * The forward output, packed (see PackedLayout); values as SoftmaxOutputProgram's. The row
 * statistics `st` are the online pass's packed [R, 2] (max, sum/status) read raw: the texel of
 * the output's row pair holds both rows' (see OnlineRowPassProgram).
 */
export class SoftmaxPackedOutputProgram extends PackedElementProgram {
  variableNames = ['x', 'mask', 'st'];

  constructor(g: SoftmaxGeometry, layout: PackedLayout, fullMask: boolean, log: boolean) {
    super(g, layout);
    // x (and NaN or Inf in it) is read at every position but used only where forwardAt says.
    this.userCode = this.code(
      `${fullMask ? '' : maskBaseFn(g)}
      ${pairReaders(['x', 'mask'], layout, fullMask)}
      ${forwardAt(log)}`,
      (h) => `
          vec4 stv = ${texture2D()}(st, vec2(0.5, (float(texel.x) + 0.5) / float(uRows / 2)));
          vec2 v = pairX(row, k);
          vec2 valid = pairMask(row, k);
          float mv = stv.${h === 0 ? 'x' : 'z'};
          float sv = stv.${h === 0 ? 'y' : 'w'};
          float rv = rowScale(sv);
          res${h} = vec2(forwardAt(valid.x > 0.5, v.x, mv, sv, rv),
            forwardAt(valid.y > 0.5, v.y, mv, sv, rv));`,
    );
  }
}

/** The gradient, packed (see PackedLayout); values as SoftmaxGradProgram's. */
export class SoftmaxPackedGradProgram extends PackedElementProgram {
  variableNames = ['dy', 'mask', 'y', 't'];

  constructor(g: SoftmaxGeometry, layout: PackedLayout, fullMask: boolean, log: boolean) {
    super(g, layout);
    // dy and y are read everywhere; a masked position's (even NaN) is dropped by the select.
    this.userCode = this.code(
      `${fullMask ? '' : maskBaseFn(g)}
      ${pairReaders(['dy', 'y', 'mask'], layout, fullMask)}
      ${gradAt(log)}`,
      (h) => `
          vec2 dyv = pairDy(row, k);
          vec2 yv = pairY(row, k);
          vec2 valid = pairMask(row, k);
          float tv = fetchTexel(t, statRC, tTexShape);
          res${h} = vec2(valid.x > 0.5 ? gradAt(dyv.x, yv.x, tv) : 0.0,
            valid.y > 0.5 ? gradAt(dyv.y, yv.y, tv) : 0.0);`,
    );
  }
}

/**
 * Positions per invocation of the online pass (MAX_WINDOW bounds the merges). Short windows
 * measured fastest on SwiftShader at [8,12,128,128] (32: about 20% under 256; 16 no better),
 * and no slower at [64,4096]: more, shorter invocations to spread over its threads.
 */
export const ONLINE_WINDOW = 32;

/**
 * The packed forward's row statistics in one pass (glsl/softmax.ts onlineFold): output a packed
 * [R, 2 * windows], one invocation per row pair and window writing both rows' (max, sum/status)
 * as one texel, so the output program reads a row pair's statistics in one read. Masked
 * positions are skipped by a branch before x is used (a raw x texel is read for two positions
 * whatever their mask).
 */
export class OnlineRowPassProgram implements MaskedProgram {
  readonly variableNames = ['mask', 'x'];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(
    g: SoftmaxGeometry,
    rows: number,
    windows: number,
    rawX: boolean,
    rawMask: boolean,
    window = ONLINE_WINDOW,
  ) {
    this.outputShape = [rows, 2 * windows];
    const u = geometryUniforms(g);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    // rawX: x is a packed [R, n] read raw (kernels/softmax.ts runRaw): one read per two positions
    // gives both rows' values (rows 2r, 2r + 1 in x, y and z, w); window and start are even.
    // rawMask (with rawX only): a full mask in the same layout, read along with x.
    const row = (h: number, what: string) =>
      what === 'start'
        ? `${onlineInit(h)}
        ${
          rawMask
            ? ''
            : `ivec2 cm_${h} = texelOf(maskBase(rowA + ${h}, 0) + start * uAxisMask + offsetmask,
          maskTexShape);`
        }
        ${rawX ? '' : `ivec2 cx_${h} = texelOf((rowA + ${h}) * uN + start + offsetx, xTexShape);`}`
        : `if (${
            rawMask
              ? `(hi ? mt.${h === 0 ? 'y' : 'w'} : mt.${h === 0 ? 'x' : 'z'})`
              : `fetchTexel(mask, cm_${h}, maskTexShape)`
          } > 0.5) {
            float v = ${
              rawX
                ? `hi ? xt.${h === 0 ? 'y' : 'w'} : xt.${h === 0 ? 'x' : 'z'}`
                : `fetchTexel(x, cx_${h}, xTexShape)`
            };
            ${onlineFold(h, 'v')}
          }
          ${rawMask ? '' : `cm_${h} = stepTexel(cm_${h}, ivec2(0, uAxisMask), maskTexShape[1]);`}
          ${rawX ? '' : `cx_${h} = stepTexel(cx_${h}, ivec2(0, 1), xTexShape[1]);`}`;
    const rawStart = `ivec2 cx = ivec2(texel.x, start / 2);
        vec2 xSize = ceil(vec2(xTexShape.yx) * 0.5);
        vec4 xt = vec4(0.0);
        vec4 mt = vec4(0.0);
        bool hi = true;`;
    const rawStep = `hi = !hi;
          if (!hi) {
            xt = ${texture2D()}(x, (vec2(cx.yx) + halfCR) / xSize);
            ${rawMask ? `mt = ${texture2D()}(mask, (vec2(cx.yx) + halfCR) / xSize);` : ''}
            cx.y += 1;
          }`;
    this.userCode = `
      ${geometryKey(g)}
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${maskBaseFn(g)}

      void main() {
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        int rowA = 2 * texel.x;
        int start = texel.y * ${window};
        int len = uN - start;
        ${rawX ? rawStart : ''}
        ${row(0, 'start')}
        ${row(1, 'start')}
        for (int k = 0; k < ${window}; k++) {
          if (k >= len) {
            break;
          }
          ${rawX ? rawStep : ''}
          ${row(0, 'step')}
          ${row(1, 'step')}
        }
        setOutput(vec4(${onlineResult(0)}, ${onlineResult(1)}));
      }
    `;
  }
}

/**
 * Merges up to MAX_WINDOW of the online pass's windows per output: reads its packed partials
 * [R, 2 * windowsIn] raw (each texel a row pair's two partials), writes a packed
 * [R, 2 * windowsOut].
 */
export class OnlineRowMergeProgram implements MaskedProgram {
  readonly variableNames = ['partials'];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(rows: number, windowsIn: number, windowsOut: number) {
    this.outputShape = [rows, 2 * windowsOut];
    const u = new Uniforms().int('uIn', windowsIn).float('uInf', Number.POSITIVE_INFINITY);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    this.userCode = `
      ${EXP_NONPOSITIVE}

      void main() {
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        vec2 size = ceil(vec2(partialsTexShape.yx) * 0.5);
        int start = texel.y * ${MAX_WINDOW};
        int len = uIn - start;
        ${onlineInit(0)}
        ${onlineInit(1)}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          vec4 p = ${texture2D()}(partials, (vec2(float(start + k), float(texel.x)) + halfCR) / size);
          ${onlineMerge(0, 'p.x', 'p.y')}
          ${onlineMerge(1, 'p.z', 'p.w')}
        }
        setOutput(vec4(${onlineResult(0)}, ${onlineResult(1)}));
      }
    `;
  }
}
