/**
 * Shared by the per-configuration test files: cases beyond the shared conformance suite (reductions
 * of three passes, long non-contiguous reductions, non-finite values in different windows), a run
 * of every case with packed input textures, the reduced case list of the secondary
 * configurations, and half-float inputs as the textures hold them. Every comparison with a
 * reference goes through core/testing (checkCase, compareWithReference); expected values come
 * from the float64 references, never from the kernels.
 */
import { MASKED_REDUCTIONS, type MaskedReduction, type ReducerName } from '@masked-ops/core';
import {
  type ConformanceCase,
  caseGradReference,
  caseReference,
  checkCase,
  compareWithReference,
  conformanceCases,
  defineConformanceSuite,
  normaliseAxis,
  type Precision,
  randomFloats,
  randomMask,
  runOp,
  seededRandom,
} from '@masked-ops/core/testing';
import { type MathBackendWebGL, webgl_util } from '@tensorflow/tfjs-backend-webgl';
import {
  backend as activeBackend,
  add,
  dispose,
  engine,
  env,
  grad,
  memory,
  reshape,
  scalar,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { MAX_WINDOW } from '../src/programs/base.js';

export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void> | void, timeout?: number) => void;
}

export const webgl = (): MathBackendWebGL => activeBackend() as MathBackendWebGL;

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** The rows of core's table for these reducers (default: all). */
export const specs = (ops?: readonly ReducerName[]): MaskedReduction[] =>
  MASKED_REDUCTIONS.filter((s) => !ops || ops.includes(s.reducer));

function keepDimsShape(c: ConformanceCase): number[] {
  const axis = normaliseAxis(c);
  return c.xShape.map((d, i) => (axis.includes(i) ? 1 : d));
}

/** Cases the shared suite does not have: deeper pass trees and long non-contiguous reductions. */
export function extraCases(): ConformanceCase[] {
  const rand = seededRandom(7);
  const make = (
    name: string,
    xShape: number[],
    maskShape: number[],
    axis: number[],
    x: Float32Array,
    mask: Uint8Array,
    keepDims = false,
  ): ConformanceCase => {
    const c: ConformanceCase = {
      name,
      x,
      xShape,
      xDtype: 'float32',
      mask,
      maskShape,
      maskDtype: 'bool',
      axis,
      keepDims,
      dy: new Float32Array(0),
    };
    c.dy = randomFloats(rand, size(keepDimsShape(c)), -2, 2);
    return c;
  };
  const cases: ConformanceCase[] = [];
  {
    // 70,000 steps: 274 windows of 256 -> 2 -> 1 (three passes; the statistics take three too).
    const t = 70_000;
    const x = randomFloats(rand, 2 * t);
    const mask = randomMask(rand, 2 * t, 0.5);
    for (let i = 0; i < t; i++) if (!mask[i]) x[i] = [Number.NaN, Infinity, -Infinity][i % 3]!;
    mask.fill(0, t, 2 * t);
    for (const i of [t + 3, t + 40_000, 2 * t - 1]) mask[i] = 1; // row 1: three valid steps
    cases.push(make('three passes: [2,70000] mask [2,70000] axis 1', [2, t], [2, t], [1], x, mask));
  }
  {
    // Reduced axes 0 and 2 (12,000 positions), kept axis 1 between them, 2 trailing features.
    const xShape = [40, 3, 300, 2];
    const maskShape = [40, 3, 300];
    const mask = randomMask(rand, size(maskShape), 0.3);
    // Kept row 2 (axis 1 == 2): a single valid position, the very last one.
    for (let a = 0; a < 40; a++) mask.fill(0, (a * 3 + 2) * 300, (a * 3 + 3) * 300);
    mask[(39 * 3 + 2) * 300 + 299] = 1;
    cases.push(
      make(
        'non-contiguous long reduction: [40,3,300,2] mask [40,3,300] axis [0,2]',
        xShape,
        maskShape,
        [0, 2],
        randomFloats(rand, size(xShape)),
        mask,
        true,
      ),
    );
  }
  {
    // Valid non-finite values far apart (different windows and passes): +Inf and -Inf give NaN
    // (sum, mean) or +Inf (max); a lone valid -Inf is the min, a lone +Inf the max.
    const t = 3000;
    const x = randomFloats(rand, 4 * t);
    const mask = randomMask(rand, 4 * t, 0.5);
    const valid = (i: number, v: number) => {
      x[i] = v;
      mask[i] = 1;
    };
    valid(5, Infinity);
    valid(2900, -Infinity); // row 0
    valid(t + 1000, Infinity); // row 1
    valid(2 * t + 2999, -Infinity); // row 2
    valid(3 * t + 7, Number.NaN); // row 3 -> NaN for every reducer
    cases.push(make('valid ±Inf/NaN in different windows: [4,3000]', [4, t], [4, t], [1], x, mask));
  }
  {
    // Reduced dims both before and after a kept one, long enough for two passes, keepDims.
    const xShape = [30, 4, 20, 3];
    const maskShape = [30, 4, 20];
    cases.push(
      make(
        'kept mask dim between reduced ones: [30,4,20,3] mask [30,4,20] axis [0,2]',
        xShape,
        maskShape,
        [0, 2],
        randomFloats(rand, size(xShape)),
        randomMask(rand, size(maskShape), 0.5),
      ),
    );
  }
  {
    // The packed path's layout ([batch, time, features] reduced over time) with odd T and F (the
    // last texel row and column half empty): 70,001 steps -> 274 windows of 128 texel rows -> 2
    // -> 1 (three passes). Masked positions hold NaN/±Inf; row 1 has three valid steps.
    const t = 70_001;
    const x = randomFloats(rand, 2 * t);
    const mask = randomMask(rand, 2 * t, 0.5);
    for (let i = 0; i < t; i++) if (!mask[i]) x[i] = [Number.NaN, Infinity, -Infinity][i % 3]!;
    mask.fill(0, t, 2 * t);
    for (const i of [t, t + 40_001, 2 * t - 1]) mask[i] = 1;
    cases.push(
      make(
        'three passes, packed layout: [2,70001,1] mask [2,70001] axis 1',
        [2, t, 1],
        [2, t],
        [1],
        x,
        mask,
      ),
    );
  }
  {
    // Valid non-finite values in different windows of the packed layout, odd T and F.
    const [b, t, f] = [4, 3001, 3];
    const x = randomFloats(rand, b * t * f);
    const mask = randomMask(rand, b * t, 0.5);
    const valid = (bi: number, ti: number, fi: number, v: number) => {
      x[(bi * t + ti) * f + fi] = v;
      mask[bi * t + ti] = 1;
    };
    valid(0, 5, 0, Infinity);
    valid(0, 2900, 0, -Infinity); // (0, 0)
    valid(1, 1000, 2, Infinity); // (1, 2)
    valid(2, 3000, 1, -Infinity); // (2, 1), in the half-empty last texel row
    valid(3, 7, 2, Number.NaN); // (3, 2) -> NaN
    // Masked-out non-finite values next to valid ones in the same texels.
    for (let ti = 0; ti < t; ti++) if (!mask[3 * t + ti]) x[(3 * t + ti) * f] = Number.NaN;
    cases.push(
      make(
        'valid ±Inf/NaN in different windows, packed layout: [4,3001,3] axis 1',
        [b, t, f],
        [b, t],
        [1],
        x,
        mask,
      ),
    );
  }
  {
    // Ties of the extreme across windows and passes: the gradient splits dy among all of them.
    const t = 1000;
    const x = Float32Array.from({ length: 2 * t * 2 }, (_, i) => (i % 7) - 3); // max 3, min -3
    const mask = randomMask(rand, 2 * t, 0.6);
    cases.push(make('ties across windows: [2,1000,2] axis 1', [2, t, 2], [2, t], [1], x, mask));
  }
  return cases;
}

/**
 * The per-token-loss form long enough for the texel path (texel.ts: x and the mask of one shape,
 * every axis reduced, more than MAX_WINDOW positions): odd and even R and C (packed slots past the
 * data), R = 1, B > 1, three passes (over 65,536 positions), a vector and an x with a trailing 1
 * (read unpacked), valid non-finite values and ties in different windows, a lone valid position,
 * an empty mask.
 */
export function texelCases(): ConformanceCase[] {
  const rand = seededRandom(10);
  const make = (
    name: string,
    shape: number[],
    x: Float32Array,
    mask: Uint8Array,
    options: { maskShape?: number[]; axis?: number[]; keepDims?: boolean } = {},
  ): ConformanceCase => {
    const keepDims = options.keepDims ?? false;
    return {
      name,
      x,
      xShape: shape,
      xDtype: 'float32',
      mask,
      maskShape: options.maskShape ?? shape,
      maskDtype: 'bool',
      ...(options.axis ? { axis: options.axis } : {}),
      keepDims,
      dy: randomFloats(rand, 1, -2, 2),
    };
  };
  const cases: ConformanceCase[] = [];
  {
    // 75,250 positions: 294 windows of 256 -> 2 -> 1 (three passes); odd C. Masked positions
    // hold NaN/±Inf.
    const n = 250 * 301;
    const x = randomFloats(rand, n);
    const mask = randomMask(rand, n, 0.5);
    for (let i = 0; i < n; i++) if (!mask[i]) x[i] = [Number.NaN, Infinity, -Infinity][i % 3]!;
    cases.push(make('three passes, odd C: [250,301], masked NaN/±Inf', [250, 301], x, mask));
  }
  {
    const shape = [3, 301, 77];
    const n = size(shape);
    cases.push(
      make(
        'odd R and C, B = 3: [3,301,77], keepDims',
        shape,
        randomFloats(rand, n),
        randomMask(rand, n, 0.3),
        {
          axis: [0, 1, 2],
          keepDims: true,
        },
      ),
    );
  }
  {
    const shape = [2, 3, 40, 64];
    const n = size(shape);
    cases.push(
      make(
        'rank 4, even R and C: [2,3,40,64], axis [-1,0,2,1]',
        shape,
        randomFloats(rand, n),
        randomMask(rand, n, 0.9),
        {
          axis: [-1, 0, 2, 1],
        },
      ),
    );
  }
  {
    const n = 70_001;
    cases.push(
      make(
        'one row (R = 1) of 1.1, three passes: [1,70001]',
        [1, n],
        new Float32Array(n).fill(1.1),
        new Uint8Array(n).fill(1),
      ),
    );
  }
  {
    const n = 5001;
    cases.push(make('a vector: [5001]', [n], randomFloats(rand, n), randomMask(rand, n, 0.5)));
  }
  {
    // x [N, 1] with a mask [N]: not one [B, R, C] view, so read unpacked.
    const n = 3001;
    cases.push(
      make('x [3001,1], mask [3001]', [n, 1], randomFloats(rand, n), randomMask(rand, n, 0.5), {
        maskShape: [n],
      }),
    );
  }
  {
    // A valid +Inf and -Inf far apart (sum, mean: NaN; max +Inf; min -Inf).
    const shape = [64, 300];
    const n = size(shape);
    const x = randomFloats(rand, n);
    const mask = randomMask(rand, n, 0.5);
    x[7] = Infinity;
    mask[7] = 1;
    x[n - 3] = -Infinity;
    mask[n - 3] = 1;
    cases.push(make('valid +Inf and -Inf in different windows: [64,300]', shape, x, mask));
  }
  {
    // A valid NaN in the last window, the other valid values finite.
    const shape = [64, 300];
    const n = size(shape);
    const x = randomFloats(rand, n);
    const mask = randomMask(rand, n, 0.5);
    x[n - 1] = Number.NaN;
    mask[n - 1] = 1;
    cases.push(make('a valid NaN in the last window: [64,300]', shape, x, mask));
  }
  {
    // Ties of the extreme in many windows: the gradient splits dy among all of them.
    const shape = [100, 301];
    const n = size(shape);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
    cases.push(
      make('ties across windows: [100,301] in {-3..3}', shape, x, randomMask(rand, n, 0.6)),
    );
  }
  {
    // One valid position, the very last one: every other window is empty (three passes).
    const shape = [257, 259];
    const n = size(shape);
    const mask = new Uint8Array(n);
    mask[n - 1] = 1;
    cases.push(
      make('a lone valid position, the last: [257,259]', shape, randomFloats(rand, n), mask),
    );
  }
  cases.push(
    make('an empty mask: [40,40]', [40, 40], randomFloats(rand, 1600), new Uint8Array(1600)),
  );
  return cases;
}

/**
 * The texel path's cases for every op through core's checkCase (x and the mask start on the CPU
 * and are uploaded unpacked, as tfjs's reductions upload them), then with x and the mask already
 * on the GPU: `layouts` 'packed' in packed textures (what tfjs's packed ops hand over), 'all' in
 * each combination with a packed one (both unpacked is what the first part runs). These assert the path runs (the packed path's
 * programs for an x [N, 1] with a mask [N], which is its layout), that a packed x is read without
 * unpacking it where the mask has its [B, R, C] view, and compare the forward results and the
 * gradient of the first output with the references (with 'float16', over the inputs as the
 * textures hold them; maskedLogSumExp's half-float check is checkHalfLogSumExp's, in the first
 * part).
 */
export function defineTexelCases(
  t: TestApi,
  precision: Precision,
  ops?: readonly ReducerName[],
  layouts: 'none' | 'packed' | 'all' = 'none',
  only: (c: ConformanceCase) => boolean = () => true,
): void {
  const cases = texelCases().filter(only);
  defineCases(t, 'per-token-loss form on the texel path', cases, precision, ops, 300_000);
  if (layouts === 'none') return;
  const combinations: (readonly [boolean, boolean])[] =
    layouts === 'all'
      ? [
          [true, true],
          [true, false],
          [false, true],
        ]
      : [[true, true]];
  for (const spec of specs(ops)) {
    if (precision === 'float16' && spec.reducer === 'logsumexp') continue;
    const what = layouts === 'all' ? 'packed and unpacked textures' : 'packed textures';
    t.it(
      `${spec.op}: texel path with x and the mask in ${what} (${precision})`,
      async () => {
        expect(env().getBool('WEBGL_PACK')).toBe(true);
        const before = memory().numTensors;
        for (const original of cases) {
          if (precision === 'float16' && (original.halfUnsafe || beyondHalfRange(spec, original))) {
            continue;
          }
          const c = precision === 'float16' ? await storedCase(original) : original;
          const axis = normaliseAxis(c);
          const xs = Float32Array.from(c.x);
          for (const [xPacked, maskPacked] of combinations) {
            const label = `${c.name} (x ${xPacked ? 'packed' : 'unpacked'}, mask ${maskPacked ? 'packed' : 'unpacked'})`;
            const x0 = tensor(xs, c.xShape);
            const m0 = tensor(c.mask, c.maskShape, 'bool');
            for (const t0 of [x0, m0]) webgl().uploadToGPU(t0.dataId);
            const x = xPacked ? packed(x0) : x0;
            const mask = maskPacked ? packed(m0) : m0;
            const spy = spyOnBackend();
            let ys: Tensor[];
            try {
              ys = runOp(spec, x, mask, c.axis, c.keepDims);
            } finally {
              spy.restore();
            }
            // A packed x [N, 1] with a mask [N] takes the packed path (packed.ts) instead.
            const packedPath = xPacked && takesPackedPath(c.xShape, c.maskShape, axis);
            expect(spy.programs, label).toContain(
              packedPath ? 'PackedMaskedWindowProgram' : 'TexelWindowProgram',
            );
            expect(spy.programs, label).not.toContain('MaskedWindowProgram');
            const oneView = c.xShape.length >= 2 && c.xShape.join() === c.maskShape.join();
            if (xPacked && oneView) expect(spy.unpacked, label).not.toContain(x.dataId);
            for (let k = 0; k < ys.length; k++) {
              const ref = caseReference(spec.reducer, c, k);
              expect(ys[k]!.shape, label).toEqual(ref.shape);
              compareWithReference(`${label} forward`, await ys[k]!.data(), ref, precision);
            }
            // The gradient of the first output.
            const dy = tensor(c.dy, ys[0]!.shape);
            const gradSpy = spyOnBackend();
            let dx: Tensor;
            try {
              dx = grad((v: Tensor) => runOp(spec, v, mask, c.axis, c.keepDims)[0]!)(x, dy);
            } finally {
              gradSpy.restore();
            }
            expect(gradSpy.programs, label).toContain(
              packedPath && spec.gradInputs.length > 0
                ? 'PackedMaskedBroadcastProgram'
                : 'TexelBroadcastProgram',
            );
            if (xPacked && oneView) expect(gradSpy.unpacked, label).not.toContain(x.dataId);
            // dx is written packed where what the gradient reads (x, or the mask alone for sum and
            // mean) is, as tfjs's packed ops write theirs.
            const readPacked = spec.gradInputs.length > 0 ? xPacked : maskPacked;
            if (readPacked && oneView && !packedPath) {
              expect(webgl().texData.get(dx.dataId).isPacked, label).toBe(true);
            }
            const refDx = caseGradReference(spec.reducer, c);
            compareWithReference(
              `${label} gradient`,
              await dx.data(),
              { values: refDx },
              precision,
            );
            dispose([...new Set([x0, m0, x, mask, dy, dx, ...ys])]);
          }
        }
        expect(memory().numTensors).toBe(before);
      },
      600_000,
    );
  }
}

/**
 * The reduced list of the secondary configurations: the structural conformance cases (every axis
 * set of every rank, axis spellings, mask dtypes, NaN/±Inf, all-masked and empty slices, ties,
 * T = 1, 10,000 and 100,000, values near float32 max) without the 40 seeded random ones and
 * without the keepDims = true twin of each rank/axis-set case (keepDims only relabels the flat
 * output's shape; other cases still run with it, and the primary configuration runs them all).
 */
export const structuralCases = (): ConformanceCase[] =>
  conformanceCases().filter(
    (c) => !c.name.startsWith('random #') && !/^rank \d.*keepDims true$/.test(c.name),
  );

/**
 * The structural cases without core's finite-difference gradient check (many forward calls per
 * case): the analytic gradient is still compared with the float64 reference in every case, and
 * the primary configuration and every configuration's maskedMean keep the finite differences.
 */
const structuralCasesAnalytic = (): ConformanceCase[] =>
  structuralCases().map((c) => ({ ...c, numericGradient: false }));

/** `v` after a trip through a GPU texture written by a shader (tfjs's add), read back. */
export async function roundTrip(v: number): Promise<number> {
  const a = scalar(v);
  webgl().uploadToGPU(a.dataId);
  const b = add(a, 0);
  const out = (await b.data())[0]!;
  dispose([a, b]);
  return out;
}

/** `values` as this platform's textures hold them: uploaded, copied by a shader, read back. */
async function asStored(values: Float32Array): Promise<Float32Array> {
  if (values.length === 0) return values;
  const a = tensor(values);
  webgl().uploadToGPU(a.dataId);
  const b = add(a, 0);
  const out = Float32Array.from(await b.data());
  dispose([a, b]);
  return out;
}

/**
 * A case whose x and dy are what half-float textures hold: rounded to 11 significant bits, and on
 * platforms that cannot store ±Inf in them (SwiftShader writes NaN for anything beyond the half
 * range, tfjs's own ops included) NaN where they had ±Inf. The kernels only ever see these values,
 * so the reference is taken over them; a max/min tie the rounding creates is a real tie.
 */
export async function storedCase(c: ConformanceCase): Promise<ConformanceCase> {
  if (c.xDtype !== 'float32') return { ...c, dy: await asStored(c.dy) };
  return { ...c, x: await asStored(c.x as Float32Array), dy: await asStored(c.dy) };
}

/**
 * Whether a result leaves the half-float range (like core's halfUnsafe, per reducer): a sum, or a
 * variance of values within it (its squares are not).
 */
export function beyondHalfRange(spec: MaskedReduction, c: ConformanceCase): boolean {
  return spec.outputs.some((_, k) =>
    caseReference(spec.reducer, c, k).values.some((v) => Number.isFinite(v) && Math.abs(v) > 65504),
  );
}

/**
 * maskedLogSumExp on half-float textures: core's checkCase, with two differences the textures
 * force. An empty slice's -Infinity is expected as the platform stores it (SwiftShader writes NaN
 * for ±Inf in a half-float texture, tfjs's own ops included; a real GPU keeps -Inf), or exact
 * where no texture holds it (a zero-size reduction runs no shader). And the
 * gradient dy * exp(x - y) reads the y the op returned, which the texture holds to 11 significant
 * bits: an absolute error of up to 2^-12 |y| in y is a relative one in exp(x - y), so the bound
 * of each dx scales with |dx| (1 + max |y|) instead of |dx| (the reference is still core's, at the
 * float32 y).
 */
async function checkHalfLogSumExp(spec: MaskedReduction, c: ConformanceCase): Promise<void> {
  const storedEmpty = await roundTrip(spec.emptyValue);
  const xs = Float32Array.from(c.x);
  const ref = caseReference(spec.reducer, c);
  const before = memory().numTensors;
  const x = tensor(xs, c.xShape);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const dy = tensor(c.dy, ref.shape);
  const forward = (v: Tensor) => runOp(spec, v, mask, c.axis, c.keepDims)[0]!;
  const y = forward(x);
  expect(y.shape).toEqual(ref.shape);
  // Exactly -Infinity where no shader ran (a zero-size reduction), else as stored.
  const got = await y.data();
  const values = Array.from(ref.values, (v, i) =>
    ref.counts[i] !== 0 || Object.is(got[i], v) ? v : storedEmpty,
  );
  compareWithReference(`${spec.op} forward`, got, { ...ref, values }, 'float16');
  const dx = grad(forward)(x, dy);
  const refDx = caseGradReference(spec.reducer, c);
  const yMax = ref.values.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
  compareWithReference(
    `${spec.op} gradient`,
    await dx.data(),
    { values: refDx, scales: Array.from(refDx, (v) => Math.abs(v) * (1 + yMax)) },
    'float16',
  );
  dispose([x, mask, dy, y, dx]);
  expect(memory().numTensors).toBe(before);
}

/**
 * Runs `cases` for every op through core's checkCase. With 'float16', inputs are taken as the
 * half-float textures hold them (storedCase) and cases beyond half range are left out, as core's
 * suite leaves out its halfUnsafe ones; maskedLogSumExp goes through checkHalfLogSumExp there.
 */
export function defineCases(
  t: TestApi,
  title: string,
  cases: ConformanceCase[],
  precision: Precision,
  ops?: readonly ReducerName[],
  timeout = 120_000,
): void {
  for (const spec of specs(ops)) {
    t.describe(`${spec.op}: ${title} (${precision})`, () => {
      for (const c of cases) {
        if (precision === 'float16' && (c.halfUnsafe || beyondHalfRange(spec, c))) continue;
        t.it(
          c.name,
          async () => {
            if (precision === 'float32') return checkCase(spec, c, precision);
            const stored = await storedCase(c);
            return spec.reducer === 'logsumexp'
              ? checkHalfLogSumExp(spec, stored)
              : checkCase(spec, stored, precision);
          },
          timeout,
        );
      }
    });
  }
}

export function defineExtraCases(
  t: TestApi,
  precision: Precision,
  ops?: readonly ReducerName[],
): void {
  defineCases(t, 'cases beyond the shared suite', extraCases(), precision, ops);
}

/** A packed-texture copy of `t` (what tfjs's packed ops hand to the next op under WEBGL_PACK). */
function packed(t: Tensor): Tensor {
  const info = webgl().packTensor(t);
  expect(webgl().texData.get(info.dataId).isPacked).toBe(true);
  return engine().makeTensorFromTensorInfo(info, webgl());
}

/**
 * Whether a forward kernel reads a packed x as is (no unpacking pass): x is [..., T, F], the mask
 * covers every dim but the last, and T (the mask's last dim) is reduced. The README's contract.
 */
export function takesPackedPath(
  xShape: readonly number[],
  maskShape: readonly number[],
  axis: number[],
) {
  const k = maskShape.length;
  return xShape.length >= 2 && k === xShape.length - 1 && axis.includes(k - 1);
}

/**
 * Whether a kernel takes the texel path (texel.ts): every position of x reduced into one output,
 * one mask value per x value, more than MAX_WINDOW positions; 'packed' where it reads a packed x
 * as it is (x of rank 2 or more, the mask of x's [B, R, C] view), 'unpacked' where it unpacks it.
 */
export function takesTexelPath(c: ConformanceCase, axis: number[]): 'packed' | 'unpacked' | null {
  const all = c.maskShape.every((_, d) => axis.includes(d));
  if (!all || size(c.xShape) !== size(c.maskShape) || size(c.xShape) <= MAX_WINDOW) return null;
  const view = (shape: number[]) => webgl_util.getShapeAs3D(shape).join();
  return c.xShape.length >= 2 && view(c.xShape) === view(c.maskShape) ? 'packed' : 'unpacked';
}

/**
 * Records, while installed, the programs the webgl backend runs (by class name) and the data ids
 * it unpacks (`unpackTensor`, which `runWebGLProgram` also calls for a packed input of an
 * unpacked program).
 */
export function spyOnBackend() {
  const backend = webgl();
  const programs: string[] = [];
  const unpacked: object[] = [];
  const run = backend.runWebGLProgram;
  const unpack = backend.unpackTensor;
  backend.runWebGLProgram = function (this: MathBackendWebGL, ...args) {
    programs.push(args[0].constructor.name);
    return run.apply(this, args);
  };
  backend.unpackTensor = function (this: MathBackendWebGL, ...args) {
    unpacked.push(args[0].dataId);
    return unpack.apply(this, args);
  };
  const restore = () => {
    backend.runWebGLProgram = run;
    backend.unpackTensor = unpack;
  };
  return { programs, unpacked, restore };
}

/** definePackedInputCases runs one in this many of the cases whose layout unpacks x. */
const UNPACKED_SAMPLE = 6;

/**
 * The conformance cases (plus the extra ones) whose layout reads a packed x as it is (the packed
 * path, the texel path), and one in UNPACKED_SAMPLE of the others, forward and gradient kernels of
 * each op, with x, the mask, dy (and y) in packed textures; asserts they are packed, that the
 * forward kernel reads a packed x without unpacking it in the layouts of the packed path (and
 * unpacks it in the others), and compares with the references. The others run the generic
 * kernels after an unpack, which the shared suite checks on every case: a sample shows the unpack.
 */
export function definePackedInputCases(
  t: TestApi,
  precision: Precision,
  ops?: readonly ReducerName[],
): void {
  for (const spec of specs(ops)) {
    t.it(
      `${spec.op}: all conformance cases with packed x, mask and dy textures (${precision})`,
      async () => {
        expect(env().getBool('WEBGL_PACK')).toBe(true);
        const before = memory().numTensors;
        const readsPacked = (c: ConformanceCase) => {
          const axis = normaliseAxis(c).sort((a, b) => a - b);
          return (
            takesPackedPath(c.xShape, c.maskShape, axis) || takesTexelPath(c, axis) === 'packed'
          );
        };
        const cases = [...conformanceCases(), ...extraCases()]
          .filter(
            (c) =>
              size(c.xShape) > 0 &&
              !(precision === 'float16' && (c.halfUnsafe || beyondHalfRange(spec, c))),
          )
          .filter((c, i) => readsPacked(c) || i % UNPACKED_SAMPLE === 0);
        expect(cases.filter(readsPacked).length).toBeGreaterThan(40);
        let packedPath = 0;
        let unpackedLayouts = 0;
        for (const original of cases) {
          const c = precision === 'float16' ? await storedCase(original) : original;
          const axis = normaliseAxis(c).sort((a, b) => a - b);
          const maskValid = Uint8Array.from(c.mask as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0));
          const xs = Float32Array.from(c.x);
          const x0 = tensor(xs, c.xShape);
          const m0 = tensor(maskValid, c.maskShape, 'bool');
          const dy0 = tensor(c.dy, keepDimsShape(c));
          // The cotangent of a second output (moments' variance): exact in half, never 0 (a zero
          // cotangent adds nothing, not the NaN of 0 * Inf the reference's sum below would have).
          const dy1s = Float32Array.from(c.dy, (_, i) => ((i * 5) % 7) - 3.5);
          const dy10 = tensor(dy1s, keepDimsShape(c));
          const [x, mask, dy, dy1] = [packed(x0), packed(m0), packed(dy0), packed(dy10)];
          const spy = spyOnBackend();
          let ys: Tensor[];
          try {
            ys = runOp(spec, x, mask, c.axis, c.keepDims);
          } finally {
            spy.restore();
          }
          if (takesPackedPath(c.xShape, c.maskShape, axis)) {
            packedPath++;
            expect(spy.programs, c.name).toContain('PackedMaskedWindowProgram');
            expect(spy.programs, c.name).not.toContain('MaskedWindowProgram');
            expect(spy.unpacked, c.name).not.toContain(x.dataId);
          } else if (takesTexelPath(c, axis) === 'packed') {
            expect(spy.programs, c.name).toContain('TexelWindowProgram');
            expect(spy.unpacked, c.name).not.toContain(x.dataId);
          } else {
            unpackedLayouts++;
            expect(spy.programs, c.name).not.toContain('PackedMaskedWindowProgram');
            expect(spy.unpacked, c.name).toContain(x.dataId);
          }
          expect(webgl().texData.get(x.dataId).isPacked, c.name).toBe(true);
          for (let k = 0; k < ys.length; k++) {
            const ref = caseReference(spec.reducer, c, k, { mask: maskValid });
            expect(ys[k]!.shape, c.name).toEqual(ref.shape);
            compareWithReference(
              `${c.name} forward ${spec.outputs[k]}`,
              await ys[k]!.data(),
              ref,
              precision,
            );
          }
          const gradInputs: Record<string, Tensor> = { dy, mask };
          if (spec.outputs.length === 2) gradInputs['dy1'] = dy1;
          const yKeep = reshape(ys[0]!, keepDimsShape(c));
          if (spec.gradInputs.length > 0) {
            gradInputs['x'] = x;
            gradInputs['y'] = yKeep;
          }
          const gradSpy = spyOnBackend();
          let dx: Tensor;
          try {
            dx = engine().runKernel(spec.gradKernelName, gradInputs, {
              axis,
              xShape: c.xShape,
            }) as Tensor;
          } finally {
            gradSpy.restore();
          }
          if (spec.gradInputs.length > 0 && takesPackedPath(c.xShape, c.maskShape, axis)) {
            // Gradients reading x read it packed too: no pass unpacks it.
            expect(gradSpy.programs, c.name).toContain('PackedMaskedBroadcastProgram');
            expect(gradSpy.unpacked, c.name).not.toContain(x.dataId);
          }
          // dx is written packed (as tfjs's packed ops write theirs) for x of rank >= 2.
          expect(webgl().texData.get(dx.dataId).isPacked ?? false, c.name).toBe(
            c.xShape.length >= 2,
          );
          // The gradient kernel's dx is the sum of each output's gradient with its cotangent.
          const refDx = new Float64Array(xs.length);
          [c.dy, dy1s].slice(0, spec.outputs.length).forEach((cotangent, k) => {
            const part = caseGradReference(spec.reducer, c, k, {
              dy: cotangent,
              mask: maskValid,
            });
            for (let i = 0; i < part.length; i++) refDx[i]! += part[i]!;
          });
          compareWithReference(`${c.name} gradient`, await dx.data(), { values: refDx }, precision);
          dispose([x0, m0, dy0, dy10, x, mask, dy, dy1, ...ys, yKeep, dx]);
        }
        // Most of the cases have the [batch, time, features]-like layout of the packed path.
        expect(packedPath).toBeGreaterThan(cases.length / 2);
        expect(unpackedLayouts).toBeGreaterThan(4);
        expect(memory().numTensors).toBe(before);
      },
      600_000,
    );
  }
}

/**
 * Runs a forward kernel directly (the op's own checks bypassed), for tests that count programs:
 * its outputs in the row's order.
 */
export const runForward = (
  spec: MaskedReduction,
  x: Tensor,
  mask: Tensor,
  axis: number[],
  keepDims = false,
): Tensor[] => {
  const out = engine().runKernel(spec.kernelName, { x, mask }, { axis, keepDims });
  return Array.isArray(out) ? (out as Tensor[]) : [out as Tensor];
};

/** The ops this package implements (every row of core's table that has a GLSL reducer). */
export const WEBGL_OPS: readonly ReducerName[] = [
  'sum',
  'mean',
  'max',
  'min',
  'logsumexp',
  'moments',
];

/**
 * Whether a case's x is large enough for tfjs's squarified texture layout under
 * WEBGL_MAX_TEXTURE_SIZE 640 (flat views of more than 400 values; the small-texture configuration).
 */
export const squarified = (c: ConformanceCase): boolean => size(c.xShape) > 400;

/**
 * The conformance suite of a secondary configuration: every op with the structural cases, so that
 * every op runs every structure (all axis sets, NaN/±Inf, empty slices, T = 10,000 and 100,000) in
 * every configuration while the package's test time stays reasonable (six ops; the seeded random
 * cases and the keepDims twins run for every op in the primary configuration). maskedMean (the op
 * this package shipped first) keeps core's finite-difference gradient checks. `others`, if given,
 * narrows the cases of the ops other than maskedMean to those the configuration is about. With
 * 'float16', inputs are taken as half-float textures hold them (see storedCase); core's suite
 * still checks the kernel path and every error case.
 */
export function defineSecondarySuite(
  t: TestApi,
  precision: Precision,
  others: (c: ConformanceCase) => boolean = () => true,
): void {
  const rest = WEBGL_OPS.filter((r) => r !== 'mean');
  const restCases = structuralCasesAnalytic().filter(others);
  if (precision === 'float32') {
    defineConformanceSuite(t, {
      path: 'fused',
      precision,
      timeout: 120_000,
      ops: ['mean'],
      cases: structuralCases(),
    });
    defineConformanceSuite(t, {
      path: 'fused',
      precision,
      timeout: 120_000,
      ops: rest,
      cases: restCases,
    });
    return;
  }
  defineConformanceSuite(t, { path: 'fused', precision, ops: WEBGL_OPS, cases: [] });
  defineCases(t, 'structural conformance cases as stored', structuralCases(), precision, ['mean']);
  defineCases(t, 'structural conformance cases as stored', restCases, precision, rest);
}
