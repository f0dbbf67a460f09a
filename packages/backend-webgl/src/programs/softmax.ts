import type { SoftmaxDim, SoftmaxGeometry } from '@masked-ops/core';
import { env } from '@tensorflow/tfjs-core';
import {
  EXP_NONPOSITIVE,
  forward4,
  forwardAt,
  gradAt,
  PACKED_ROW_REDUCERS,
  type PackedRowReducerName,
  ROW_EMPTY,
  ROW_REDUCERS,
  type RowReducerName,
  selectFn,
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
 * The packed programs (PackedLayout, PackedRowPassProgram) write tfjs's packed textures, a
 * quarter of the invocations, work on texel quads (two positions of a row pair) and read packed
 * inputs raw (kernels/softmax.ts runRaw). On SwiftShader (2x2 fragments per SIMD group) a texture
 * read costs about as much as a quad's arithmetic, so they read the mask first and the rest only
 * where a quad has a valid position, and compute a quad's values in selects rather than branches.
 * Measured on SwiftShader and dropped: texelFetch instead of a normalised-coordinate sample (no
 * faster), branch-free folds over every position (slower where many positions are masked; the
 * packed passes branch once per quad on its mask instead).
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
        ${cursorStart('mask', 'maskBase(o, i) + start * uAxisMask', 'uAxisMask')}
        ${reducer.elementInputs.map((n) => cursorStart(n, 'e', 'uInner')).join('\n        ')}
        ${reducer.init}
        ${reducer.rowInit ?? ''}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          ${cursorFetch('mask')}
          if (vmask > 0.5) {
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
 * elementwise programs. The row statistics are a packed [R, 2] (a row pair per texel, a vec2 per
 * row: PackedRowPassProgram), read raw. `direct`: inputs whose (unpacked) texture is [R, n] with
 * no offset, read without a division.
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
  /** The mask is a MaskPairsProgram texture of this kind (read raw at the pair's mask pair). */
  maskPairs?: MaskPairs | null;
}

/**
 * GLSL `vec2 pairN(int row, int k)` for each input N: its elements (row, k) and (row, k + 1),
 * the second through a texel cursor one step on (k + 1 may be n when n is odd: a value the caller
 * drops). The mask, when not of the logits' size, is addressed through maskBase. A raw input
 * (PackedLayout.raw) is read at the output's texel.
 */
const pairReaders = (names: readonly string[], layout: PackedLayout): string =>
  names
    .map((n) => {
      const start = layout.direct.includes(n)
        ? 'ivec2(row, k)'
        : `texelOf(row * uN + k + offset${n}, ${n}TexShape)`;
      return `
      vec2 pair${capital(n)}(int row, int k) {
        ivec2 rc = ${start};
        ivec2 rc1 = stepTexel(rc, ivec2(0, 1), ${n}TexShape[1]);
        return vec2(fetchTexel(${n}, rc, ${n}TexShape), fetchTexel(${n}, rc1, ${n}TexShape));
      }`;
    })
    .join('');

/**
 * Positions per invocation of the packed row passes (MAX_WINDOW bounds the merges). Short windows
 * measured fastest on SwiftShader at [8,12,128,128] (32: 1.5x faster than 128, whose [R, 2]
 * output texture is one texel wide and so leaves half of every 2x2 fragment group idle),
 * and no slower at [64,4096] (64 to 256 within noise).
 */
export const ONLINE_WINDOW = 32;

/**
 * How the rows of a pair (2r, 2r + 1) meet the mask when the innermost outer dim has an even size
 * (so no pair straddles it): 'shared' where that dim broadcasts the mask (both rows read one mask
 * row: key padding [B,1,1,L] over [B,H,Q,L]), 'consecutive' where it steps one mask row (mask
 * rows 2p, 2p + 1: a causal mask [Q,L] over [B,H,Q,L], or a full mask). A mask not already in a
 * packed texture of the layout is first copied into a small packed texture of row-pair quads
 * (MaskPairsProgram), then read like a raw input: one read per quad instead of four reads placed
 * by divisions. Null for any other structure.
 */
export type MaskPairs = 'shared' | 'consecutive';

/** The mask's row length: n, or 1 where it broadcasts along the axis (packed layout: inner 1). */
const maskRowLength = (g: SoftmaxGeometry): number => (g.maskAxisStride === 0 ? 1 : g.n);

/** The mask's rows (its size over its row length). */
export const maskRowsOf = (g: SoftmaxGeometry, maskSize: number): number =>
  maskSize / maskRowLength(g);

export function maskPairsOf(g: SoftmaxGeometry): MaskPairs | null {
  const last = g.outerDims.at(-1);
  if (g.inner !== 1 || last === undefined || last.size % 2 !== 0) return null;
  if (last.maskStride === 0) return 'shared';
  return last.maskStride === maskRowLength(g) ? 'consecutive' : null;
}

/**
 * GLSL `int maskPair(int row)` (uniform uOuterMaskRow): the texel row of an even row's pair in
 * the MaskPairsProgram texture, from its mask row (the mask offset of its element 0 over the
 * mask's row length, decomposed with strides in mask rows: no division by the row length).
 */
const maskPairFn = (g: SoftmaxGeometry, pairs: MaskPairs): string => `
      int maskPair(int o) {
        int base = 0;
        int q = 0;
        ${decompose('o', 'uOuterFlat', 'uOuterMaskRow', g.outerDims)}
        return ${pairs === 'shared' ? 'base' : 'base / 2'};
      }`;

const maskPairUniforms = (g: SoftmaxGeometry, u: Uniforms): Uniforms =>
  u.ints(
    'uOuterMaskRow',
    g.outerDims.map((d) => d.maskStride / maskRowLength(g)),
  );

/** The MaskPairsProgram texture's packed shape: [2M, n] ('shared') or [M, n], M mask rows. */
export const maskPairsShape = (
  g: SoftmaxGeometry,
  maskRows: number,
  pairs: MaskPairs,
): number[] => [pairs === 'shared' ? 2 * maskRows : maskRows, g.n];

/**
 * Copies a mask (flat, unpacked) into the packed texture of row-pair quads the packed programs
 * read (MaskPairs): texel (p, j) holds positions 2j, 2j + 1 of the pair's two mask rows,
 * rows p, p ('shared': a packed [2M, n] of M mask rows, each twice) or 2p, 2p + 1 ('consecutive':
 * a packed [M, n]). Positions past the row (n odd) are 0. As many invocations as texels: a small
 * pass where the mask is much smaller than the logits.
 */
export class MaskPairsProgram implements MaskedProgram {
  readonly variableNames = ['mask'];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(g: SoftmaxGeometry, maskRows: number, pairs: MaskPairs) {
    this.outputShape = maskPairsShape(g, maskRows, pairs);
    const u = new Uniforms().int('uN', g.n).int('uAxisMask', g.maskAxisStride);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    const rowLength = g.maskAxisStride === 0 ? '1' : 'uN';
    this.userCode = `
      ${CURSORS}

      float maskAt(int row, int k) {
        return k < uN
          ? fetchTexel(mask, texelOf(row * ${rowLength} + k * uAxisMask + offsetmask, maskTexShape),
              maskTexShape)
          : 0.0;
      }

      void main() {
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        int k = 2 * texel.y;
        ${
          pairs === 'shared'
            ? `vec2 a = vec2(maskAt(texel.x, k), maskAt(texel.x, k + 1));
        setOutput(a.xyxy);`
            : `int r = 2 * texel.x;
        setOutput(vec4(maskAt(r, k), maskAt(r, k + 1), maskAt(r + 1, k), maskAt(r + 1, k + 1)));`
        }
      }
    `;
  }
}

/** WebGL 2 (GLSL ES 3.00: mix with a bvec4 is a select). */
const isWebGL2 = (): boolean => env().getNumber('WEBGL_VERSION') === 2;

/**
 * The packed row statistics of a row pair in one pass: output a packed [R, 2 * windows], one
 * invocation per row pair and window of `window` positions writing both rows' partial (a vec2
 * each, PackedRowReducer) as one texel. The inputs are read a texel quad at a time (two positions
 * of both rows): a raw input (a packed [R, n] of the layout, kernels/softmax.ts runRaw) in one
 * read, any other through a texel cursor per row (the mask through maskBase where it broadcasts,
 * or in one read at the pair's row of its MaskPairsProgram texture). The mask is read first, the
 * other inputs only for quads with a valid position, so padding (trailing key padding above all)
 * costs one read per quad and no arithmetic.
 */
export class PackedRowPassProgram implements MaskedProgram {
  readonly variableNames: string[];
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
    reducerName: PackedRowReducerName,
    raw: readonly string[],
    maskPairs: MaskPairs | null = null,
    window = ONLINE_WINDOW,
  ) {
    const reducer = PACKED_ROW_REDUCERS[reducerName];
    this.variableNames = ['mask', ...reducer.inputs];
    this.outputShape = [rows, 2 * windows];
    const u = maskPairUniforms(g, geometryUniforms(g));
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    const pairs = maskPairs !== null;
    // The mask is read raw (kernels/softmax.ts packedInputs); x, dy, y raw or through cursors.
    const cursor = (n: string) => !raw.includes(n) && n !== 'mask';
    // The texel row of a raw read: the row pair's, or its mask pair's (MaskPairs).
    const texelRow = (n: string) => (n === 'mask' && pairs ? 'mp' : 'texel.x');
    // Per non-raw input: a cursor per row at the window's start, stepped along the row.
    const step = 'ivec2(0, 1)';
    const start = (n: string, h: number) => `(rowA + ${h}) * uN + start + offset${n}`;
    const init = (n: string) =>
      cursor(n)
        ? [0, 1]
            .map((h) => `ivec2 c_${n}_${h} = texelOf(${start(n, h)}, ${n}TexShape);`)
            .join('\n        ')
        : `vec2 size_${n} = ceil(vec2(${n}TexShape.yx) * 0.5);`;
    const next = (n: string) =>
      cursor(n)
        ? [0, 1]
            .map((h) => `ivec2 c1_${n}_${h} = stepTexel(c_${n}_${h}, ${step}, ${n}TexShape[1]);`)
            .join('\n          ')
        : '';
    const fetch = (n: string) =>
      cursor(n)
        ? `vec4 q_${n} = vec4(fetchTexel(${n}, c_${n}_0, ${n}TexShape),
              fetchTexel(${n}, c1_${n}_0, ${n}TexShape), fetchTexel(${n}, c_${n}_1, ${n}TexShape),
              fetchTexel(${n}, c1_${n}_1, ${n}TexShape));`
        : `vec4 q_${n} = ${texture2D()}(${n},
              (vec2(float(col), float(${texelRow(n)})) + halfCR) / size_${n});`;
    const advance = (n: string) =>
      cursor(n)
        ? [0, 1]
            .map((h) => `c_${n}_${h} = stepTexel(c1_${n}_${h}, ${step}, ${n}TexShape[1]);`)
            .join('\n          ')
        : '';
    const all = this.variableNames;
    this.userCode = `
      ${geometryKey(g)}
      ${EXP_NONPOSITIVE}
      ${CURSORS}
      ${pairs ? maskPairFn(g, maskPairs) : ''}

      void main() {
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        int rowA = 2 * texel.x;
        ${pairs ? 'int mp = maskPair(rowA);' : ''}
        int start = texel.y * ${window};
        int len = uN - start;
        ${all.map(init).join('\n        ')}
        ${reducer.init(0)}
        ${reducer.init(1)}
        for (int t = 0; t < ${window / 2}; t++) {
          int k = 2 * t;
          if (k >= len) {
            break;
          }
          int col = start / 2 + t;
          ${all.map(next).join('\n          ')}
          ${fetch('mask')}
          bvec4 valid = greaterThan(q_mask, vec4(0.5));
          if (k + 1 >= len) {
            // n odd: the texel's second column is padding.
            valid = bvec4(valid.x, false, valid.z, false);
          }
          if (any(valid)) {
            ${reducer.inputs.map(fetch).join('\n            ')}
            ${reducer.fold(0, 'x', 'y')}
            ${reducer.fold(1, 'z', 'w')}
          }
          ${all.map(advance).join('\n          ')}
        }
        setOutput(vec4(${reducer.result(0)}, ${reducer.result(1)}));
      }
    `;
  }
}

/**
 * Merges up to MAX_WINDOW of a packed row pass's windows per output: reads its packed partials
 * [R, 2 * windowsIn] raw (each texel a row pair's two partials), writes a packed
 * [R, 2 * windowsOut].
 */
export class PackedRowMergeProgram implements MaskedProgram {
  readonly variableNames = ['partials'];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode: string;
  customUniforms: CustomUniform[];
  uniformValues: number[][];

  constructor(
    rows: number,
    windowsIn: number,
    windowsOut: number,
    reducerName: PackedRowReducerName,
  ) {
    const reducer = PACKED_ROW_REDUCERS[reducerName];
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
        ${reducer.init(0)}
        ${reducer.init(1)}
        for (int k = 0; k < ${MAX_WINDOW}; k++) {
          if (k >= len) {
            break;
          }
          vec4 p = ${texture2D()}(partials, (vec2(float(start + k), float(texel.x)) + halfCR) / size);
          ${reducer.merge(0, 'p.x', 'p.y')}
          ${reducer.merge(1, 'p.z', 'p.w')}
        }
        setOutput(vec4(${reducer.result(0)}, ${reducer.result(1)}));
      }
    `;
  }
}

/**
 * GLSL `vec4 quadN(int rowA, int k)` for each input N: its texel quad at the output's texel
 * (rows rowA, rowA + 1, positions k, k + 1): a raw input in one read, others as pairN.
 */
const quadReaders = (names: readonly string[], layout: PackedLayout): string =>
  names
    .map((n) => {
      if (n === 'mask' && layout.maskPairs) {
        return `
      vec4 quadMask(int rowA, int k) {
        vec2 size = ceil(vec2(maskTexShape.yx) * 0.5);
        return ${texture2D()}(mask, (vec2(float(k / 2), float(maskPair(rowA))) + halfCR) / size);
      }`;
      }
      return layout.raw?.includes(n)
        ? `
      vec4 quad${capital(n)}(int rowA, int k) {
        return ${texture2D()}(${n}, resultUV);
      }`
        : `${pairReaders([n], layout)}
      vec4 quad${capital(n)}(int rowA, int k) {
        return vec4(pair${capital(n)}(rowA, k), pair${capital(n)}(rowA + 1, k));
      }`;
    })
    .join('');

/**
 * Base of the packed elementwise programs in quads: `body` computes the vec4 `res` of the
 * output texel from `valid` (the quad's mask; the padding column of an odd n is not valid).
 */
abstract class PackedElementProgram implements MaskedProgram {
  abstract variableNames: string[];
  readonly packedInputs = false;
  readonly packedOutput = true;
  readonly enableShapeUniforms = true;
  outputShape: number[];
  userCode = '';
  customUniforms: CustomUniform[];
  uniformValues: number[][];
  private readonly key: string;

  constructor(g: SoftmaxGeometry, layout: PackedLayout) {
    this.outputShape = [layout.rows, g.n];
    const u = geometryUniforms(g).int('uRows', layout.rows);
    if (layout.maskPairs) maskPairUniforms(g, u);
    this.customUniforms = u.declarations;
    this.uniformValues = u.values;
    this.key = geometryKey(g);
  }

  protected code(functions: string, body: string): string {
    return `
      ${this.key}
      ${CURSORS}
      ${functions}

      // A row pair's statistics: the texel of a packed [R, 2] (one texel per row pair).
      vec4 rowStats(sampler2D tex, int pair) {
        return ${texture2D()}(tex, vec2(0.5, (float(pair) + 0.5) / float(uRows / 2)));
      }

      void main() {
        // The packed texture is ceil(texShape / 2) (tfjs's layout of a packed [R, n]).
        ivec2 texel = ivec2(resultUV.yx * ceil(vec2(outTexShape) * 0.5));
        int rowA = 2 * texel.x;
        int k = 2 * texel.y;
        // n odd: the last texel column's second element is padding (written 0).
        bool second = k + 1 < uN;
        bvec4 valid = greaterThan(quadMask(rowA, k), vec4(0.5));
        if (!second) {
          valid = bvec4(valid.x, false, valid.z, false);
        }
        vec4 res;
        ${body}
        setOutput(second ? res : vec4(res.x, 0.0, res.z, 0.0));
      }
    `;
  }
}

/**
 * The forward output, packed (see PackedLayout); values as SoftmaxOutputProgram's, computed
 * four at a time (glsl/softmax.ts forward4). The row statistics `st` are the online pass's packed
 * [R, 2] (max, sum/status) read raw. A quad with no valid position reads no x (softmax: nor the
 * statistics; log-softmax needs the row status there: -Inf, or 0 in an empty row).
 */
export class SoftmaxPackedOutputProgram extends PackedElementProgram {
  variableNames = ['x', 'mask', 'st'];

  constructor(g: SoftmaxGeometry, layout: PackedLayout, log: boolean) {
    super(g, layout);
    const compute = `vec4 s = stv.yyww;
          vec2 r2 = ${log ? 'log(max(stv.yw, vec2(1.0)))' : '1.0 / max(stv.yw, vec2(1.0))'};
          res = forward4(valid, quadX(rowA, k), stv.xxzz, s, r2.xxyy);`;
    this.userCode = this.code(
      `${layout.maskPairs ? maskPairFn(g, layout.maskPairs) : ''}
      ${quadReaders(['x', 'mask'], layout)}
      ${selectFn(isWebGL2())}
      ${forward4(log)}`,
      log
        ? `vec4 stv = rowStats(st, texel.x);
        if (any(valid)) {
          ${compute}
        } else {
          res = sel(equal(stv.yyww, vec4(${ROW_EMPTY}.0)), vec4(0.0), vec4(-uInf));
        }`
        : `res = vec4(0.0);
        if (any(valid)) {
          vec4 stv = rowStats(st, texel.x);
          ${compute}
        }`,
    );
  }
}

/**
 * The gradient, packed (see PackedLayout); values as SoftmaxGradProgram's, four at a time. `t`
 * is the packed row pass's [R, 2] (one sum per row) read raw. A quad with no valid position
 * reads nothing else (dx 0).
 */
export class SoftmaxPackedGradProgram extends PackedElementProgram {
  variableNames = ['dy', 'mask', 'y', 't'];

  constructor(g: SoftmaxGeometry, layout: PackedLayout, log: boolean) {
    super(g, layout);
    // log: exp(y) as expNonPositive (y <= 0; NaN stays NaN, so a NaN row's dx is NaN).
    const grad = log
      ? `dyv - sel(greaterThanEqual(yv, vec4(-88.0)), exp(yv),
            sel(lessThan(yv, vec4(-88.0)), vec4(0.0), yv)) * tv`
      : 'yv * (dyv - tv)';
    this.userCode = this.code(
      `${layout.maskPairs ? maskPairFn(g, layout.maskPairs) : ''}
      ${quadReaders(['dy', 'y', 'mask'], layout)}
      ${selectFn(isWebGL2())}`,
      `res = vec4(0.0);
        if (any(valid)) {
          vec4 tv = rowStats(t, texel.x).xxzz;
          vec4 dyv = quadDy(rowA, k);
          vec4 yv = quadY(rowA, k);
          res = sel(valid, ${grad}, vec4(0.0));
        }`,
    );
  }
}
