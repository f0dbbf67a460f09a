/**
 * Shared by the per-configuration test files: flag checks, cases beyond the shared conformance
 * suite (reductions of three passes, long non-contiguous reductions, non-finite values in
 * different windows) and a run of every conformance case with packed input textures. Expected
 * values always come from the float64 reference in @masked-ops/core, never from the kernels.
 */
import {
  MaskedMean,
  MaskedMeanGrad,
  maskedMean,
  referenceMaskedMean,
  referenceMaskedMeanGrad,
} from '@masked-ops/core';
import {
  allowedError,
  type ConformanceCase,
  checkCase,
  conformanceCases,
  mismatch,
  type Precision,
  randomFloats,
  randomMask,
  seededRandom,
} from '@masked-ops/core/testing';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import {
  backend as activeBackend,
  add,
  dispose,
  engine,
  env,
  grad,
  memory,
  scalar,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void> | void, timeout?: number) => void;
}

export const webgl = (): MathBackendWebGL => activeBackend() as MathBackendWebGL;

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** The normalised axes of a conformance case (as the op would pass them to the kernel). */
export function normalisedAxis(c: ConformanceCase): number[] {
  const rank = c.xShape.length;
  const raw =
    c.axis === undefined ? [...Array(c.maskShape.length).keys()] : ([] as number[]).concat(c.axis);
  return raw.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

function outShapeOf(c: ConformanceCase, keepDims: boolean): number[] {
  const axis = normalisedAxis(c);
  return keepDims
    ? c.xShape.map((d, i) => (axis.includes(i) ? 1 : d))
    : c.xShape.filter((_, i) => !axis.includes(i));
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
    c.dy = randomFloats(rand, size(outShapeOf(c, keepDims)), -2, 2);
    return c;
  };
  const cases: ConformanceCase[] = [];
  {
    // 70,000 steps: 274 windows of 256 -> 2 -> 1 (three passes; the counts take three as well).
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
    // Valid non-finite values far apart (different windows and passes): +Inf and -Inf give NaN.
    const t = 3000;
    const x = randomFloats(rand, 4 * t);
    const mask = randomMask(rand, 4 * t, 0.5);
    const valid = (i: number, v: number) => {
      x[i] = v;
      mask[i] = 1;
    };
    valid(5, Infinity);
    valid(2900, -Infinity); // row 0 -> NaN
    valid(t + 1000, Infinity); // row 1 -> +Inf
    valid(2 * t + 2999, -Infinity); // row 2 -> -Inf
    valid(3 * t + 7, Number.NaN); // row 3 -> NaN
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
    valid(0, 2900, 0, -Infinity); // (0, 0) -> NaN
    valid(1, 1000, 2, Infinity); // (1, 2) -> +Inf
    valid(2, 3000, 1, -Infinity); // (2, 1) -> -Inf, in the half-empty last texel row
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
  return cases;
}

export function defineExtraCases(t: TestApi, precision: Precision, timeout = 120_000): void {
  t.describe(`cases beyond the shared suite (${precision})`, () => {
    for (const c of extraCases()) t.it(c.name, () => checkCaseOnPlatform(c, precision), timeout);
  });
}

function check(
  label: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: (i: number) => number,
  infReadAsNaN = false,
) {
  const problems: string[] = [];
  if (got.length !== want.length) problems.push(`length ${got.length} != ${want.length}`);
  for (let i = 0; i < want.length && problems.length < 5; i++) {
    const w = want[i]!;
    if (infReadAsNaN && Math.abs(w) === Infinity && Number.isNaN(got[i]!)) continue;
    const p = mismatch(got[i]!, w, bound(i));
    if (p) problems.push(`[${i}] ${p}`);
  }
  if (problems.length) throw new Error(`${label}: ${problems.join('; ')}`);
}

/**
 * Whether half-float textures here turn ±Inf into NaN. SwiftShader does (any value beyond the
 * half range written to an R16F texture reads back as NaN, with tfjs's own ops too:
 * `tf.add(Infinity, 0)` gives NaN), so no shader can see an Inf; a GPU that stores Inf does not.
 */
export async function halfFloatLosesInf(precision: Precision): Promise<boolean> {
  return precision === 'float16' && (await roundTrip(Infinity)) !== Infinity;
}

/** Whether a case expects ±Inf anywhere (forward or gradient). */
export function expectsInf(c: ConformanceCase): boolean {
  const axis = normalisedAxis(c);
  const ref = referenceMaskedMean(c.x, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
  const refDx = referenceMaskedMeanGrad(c.dy, c.xShape, c.mask, c.maskShape, axis);
  const isInf = (v: number) => Math.abs(v) === Infinity;
  return ref.values.some(isInf) || refDx.some(isInf);
}

/**
 * checkCase, except that where the platform's half-float textures cannot hold ±Inf an expected
 * ±Inf may read back as NaN (never as a finite value). Everything else is held to the same bounds,
 * masked positions of dx to exactly 0, and rows with no valid element to exactly 0.
 */
export async function checkCaseOnPlatform(c: ConformanceCase, precision: Precision) {
  if (!(expectsInf(c) && (await halfFloatLosesInf(precision)))) return checkCase(c, precision);
  const axis = normalisedAxis(c);
  const before = memory().numTensors;
  const x = tensor(c.x, c.xShape, c.xDtype);
  const mask = tensor(c.mask, c.maskShape, c.maskDtype);
  const y = maskedMean(x, mask, c.axis, c.keepDims);
  const ref = referenceMaskedMean(c.x, c.xShape, c.mask, c.maskShape, axis, c.keepDims);
  const got = await y.data();
  check(
    `${c.name} forward`,
    got,
    ref.values,
    (i) => allowedError(ref.maxAbs[i]!, ref.counts[i]!, precision),
    true,
  );
  for (let i = 0; i < got.length; i++) {
    if (ref.counts[i] === 0 && got[i] !== 0)
      throw new Error(`[${i}] expected exactly 0, got ${got[i]}`);
  }
  const dy = tensor(c.dy, ref.shape);
  const dx = grad((v: Tensor) => maskedMean(v, mask, c.axis, c.keepDims))(x, dy);
  const gotDx = await dx.data();
  const refDx = referenceMaskedMeanGrad(c.dy, c.xShape, c.mask, c.maskShape, axis);
  check(
    `${c.name} gradient`,
    gotDx,
    refDx,
    (i) => allowedError(Math.abs(refDx[i]!), 1, precision),
    true,
  );
  const inner = c.x.length / Math.max(1, c.mask.length);
  for (let i = 0; i < gotDx.length; i++) {
    if (c.mask[Math.floor(i / inner)] === 0 && gotDx[i] !== 0) {
      throw new Error(`gradient [${i}]: masked position got ${gotDx[i]}, expected exactly 0`);
    }
  }
  dispose([x, mask, y, dy, dx]);
  expect(memory().numTensors).toBe(before);
}

/** A packed-texture copy of `t` (what tfjs's packed ops hand to the next op under WEBGL_PACK). */
function packed(t: Tensor): Tensor {
  const info = webgl().packTensor(t);
  expect(webgl().texData.get(info.dataId).isPacked).toBe(true);
  return engine().makeTensorFromTensorInfo(info, webgl());
}

/**
 * Whether MaskedMean reads a packed x as is (no unpacking pass): x is [..., T, F], the mask covers
 * every dim but the last, and T (the mask's last dim) is reduced. The README's contract.
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

/**
 * Every shared conformance case (plus the extra ones), forward and gradient kernels, with x, the
 * mask and dy in packed textures; asserts they are packed, that the forward kernel reads a packed
 * x without unpacking it in the layouts of the packed path (and unpacks it in the others), and
 * checks values against the reference.
 */
export function definePackedInputCases(t: TestApi, precision: Precision): void {
  t.it(
    'all conformance cases with packed x, mask and dy textures',
    async () => {
      expect(env().getBool('WEBGL_PACK')).toBe(true);
      const before = memory().numTensors;
      const infReadAsNaN = await halfFloatLosesInf(precision);
      const cases = [...conformanceCases(), ...extraCases()].filter(
        (c) => size(c.xShape) > 0 && !(precision === 'float16' && c.halfUnsafe),
      );
      expect(cases.length).toBeGreaterThan(100);
      let packedPath = 0;
      for (const c of cases) {
        const axis = normalisedAxis(c);
        const maskValid = Uint8Array.from(c.mask as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0));
        const x0 = tensor(Float32Array.from(c.x), c.xShape);
        const m0 = tensor(maskValid, c.maskShape, 'bool');
        const dy0 = tensor(c.dy, outShapeOf(c, true));
        const [x, mask, dy] = [packed(x0), packed(m0), packed(dy0)];
        const spy = spyOnBackend();
        let y: Tensor;
        try {
          y = maskedMean(x, mask, c.axis, c.keepDims);
        } finally {
          spy.restore();
        }
        if (takesPackedPath(c.xShape, c.maskShape, axis)) {
          packedPath++;
          expect(spy.programs, c.name).toContain('PackedMaskedWindowProgram');
          expect(spy.programs, c.name).not.toContain('MaskedWindowProgram');
          expect(spy.unpacked, c.name).not.toContain(x.dataId);
        } else {
          expect(spy.programs, c.name).not.toContain('PackedMaskedWindowProgram');
          expect(spy.unpacked, c.name).toContain(x.dataId);
        }
        expect(webgl().texData.get(x.dataId).isPacked, c.name).toBe(true);
        const ref = referenceMaskedMean(c.x, c.xShape, maskValid, c.maskShape, axis, c.keepDims);
        expect(y.shape, c.name).toEqual(ref.shape);
        check(
          `${c.name} forward`,
          await y.data(),
          ref.values,
          (i) => allowedError(ref.maxAbs[i]!, ref.counts[i]!, precision),
          infReadAsNaN,
        );
        const dx = engine().runKernel(
          MaskedMeanGrad,
          { dy, mask },
          { axis, xShape: c.xShape },
        ) as Tensor;
        // dx is written packed (as tfjs's packed ops write theirs) for x of rank >= 2.
        expect(webgl().texData.get(dx.dataId).isPacked ?? false, c.name).toBe(c.xShape.length >= 2);
        const refDx = referenceMaskedMeanGrad(c.dy, c.xShape, maskValid, c.maskShape, axis);
        check(
          `${c.name} gradient`,
          await dx.data(),
          refDx,
          (i) => allowedError(Math.abs(refDx[i]!), 1, precision),
          infReadAsNaN,
        );
        dispose([x0, m0, dy0, x, mask, dy, y, dx]);
      }
      // A good share of the cases have the [batch, time, features]-like layout of the packed path.
      expect(packedPath).toBeGreaterThan(cases.length / 4);
      expect(memory().numTensors).toBe(before);
    },
    300_000,
  );
}

/** Runs MaskedMean directly (the op's own checks bypassed), for tests that count programs. */
export const runMaskedMean = (x: Tensor, mask: Tensor, axis: number[], keepDims = false): Tensor =>
  engine().runKernel(MaskedMean, { x, mask }, { axis, keepDims }) as Tensor;

/** `v` after a trip through a GPU texture written by a shader (tfjs's add), read back. */
export async function roundTrip(v: number): Promise<number> {
  const a = scalar(v);
  webgl().uploadToGPU(a.dataId);
  const b = add(a, 0);
  const out = (await b.data())[0]!;
  dispose([a, b]);
  return out;
}
