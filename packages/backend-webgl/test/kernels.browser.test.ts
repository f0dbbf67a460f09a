// Kernel-level properties on the primary configuration (WebGL 2, defaults): registration, no
// leaked tensors or textures, one shader per structure (not per shape), no shader for empty work.
import '@tensorflow/tfjs-backend-webgl';
import {
  MASKED_LOG_SUM_EXP,
  MASKED_MAX,
  MASKED_MEAN,
  MASKED_MOMENTS,
  type MaskedReduction,
  maskedGeometry,
  referenceMaskedReduce,
} from '@masked-ops/core';
import { compareWithReference, defineRegistrationSuite, runOp } from '@masked-ops/core/testing';
import {
  dispose,
  engine,
  grad,
  memory,
  reshape,
  setBackend,
  slice,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { webglKernelConfigs } from '../src/index.js';
import { runForward, specs, WEBGL_OPS, webgl } from './helpers.js';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

const ramp = (n: number, f = (i: number) => (i % 13) - 6): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => f(i));
const stripes = (n: number, period = 3): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i % period === 0 ? 0 : 1));
const product = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** The gradient kernel of `spec` run directly on x [b, t, f] reduced over axis 1. */
function runGrad(spec: MaskedReduction, x: Tensor, mask: Tensor, y: Tensor): Tensor {
  const [b, , f] = x.shape as [number, number, number];
  const inputs: Record<string, Tensor> = { dy: tensor(ramp(b * f), [b, 1, f]), mask };
  if (spec.outputs.length === 2)
    inputs['dy1'] = tensor(
      ramp(b * f, (i) => i % 5),
      [b, 1, f],
    );
  if (spec.gradInputs.length > 0) {
    inputs['x'] = x;
    inputs['y'] = reshape(y, [b, 1, f]);
  }
  const dx = engine().runKernel(spec.gradKernelName, inputs, {
    axis: [1],
    xShape: x.shape,
  }) as Tensor;
  dispose(Object.values(inputs).filter((t) => t !== x && t !== mask));
  return dx;
}

const OUR_PROGRAMS =
  /^(MaskedWindowProgram|CombineProgram|PackedMaskedWindowProgram|MaskedBroadcastProgram|MaskedBroadcastPackedProgram|PackedMaskedBroadcastProgram|TexelWindowProgram|TexelBroadcastProgram)_/;

/** Output k of a row's op alone, for tf.grad (tfjs gives the other outputs zero cotangents). */
const outputOf = (spec: MaskedReduction, k: number, x: Tensor, mask: Tensor, axis: number[]) => {
  const outs = runOp(spec, x, mask, axis);
  dispose(outs.filter((_, i) => i !== k));
  return outs[k]!;
};

// First, while the shader cache holds none of our programs.
describe('shader cache', () => {
  const cached = () => {
    const cache = (webgl() as unknown as { binaryCache: Record<string, unknown> }).binaryCache;
    return Object.keys(cache).filter((k) => OUR_PROGRAMS.test(k)).length;
  };

  // Same structure, different sizes, in three texture-layout classes: all textures narrow; several
  // passes; outputs over WEBGL_MAX_SIZE_FOR_NARROW_TEXTURE (tfjs squarifies them, which changes
  // its generated output-coordinate code, a variant compiled once).
  const shapes = [
    [4, 20, 8],
    [5, 30, 6],
    [7, 11, 3],
    [3, 600, 7],
    [2, 900, 9],
    [9, 200, 5],
    [8, 150, 6],
  ];
  // New shaders per shape, for an unpacked x (forward and gradient kernels). Mean: the window pass,
  // the count statistic's window pass and the gradient (written packed under WEBGL_PACK); max: the
  // window pass, the ties statistic's (a different shader: it reads y) and the gradient. [7,11,3]
  // adds the packed gradient's variant for an odd last dim (tfjs keys shaders by whether the
  // output's row stride equals its texture width). [3,600,7] adds, for the forward pass and the
  // statistic each, a partial window pass and a final combine. After that none, whatever the sizes.
  //
  // logsumexp (after max, whose window and combine passes it shares): its second stage's window
  // pass (it reads y) and the gradient; [3,600,7] adds the second stage's partial and final
  // combine passes. moments (after mean and max): the window passes of its three stages and the
  // gradient (its count statistic is mean's); [3,600,7] adds a partial window pass and a final
  // combine for each of the three stages.
  const expected: Record<string, number[]> = {
    maskedMean: [3, 0, 1, 4, 0, 0, 0],
    maskedMax: [3, 0, 1, 4, 0, 0, 0],
    maskedLogSumExp: [2, 0, 1, 2, 0, 0, 0],
    maskedMoments: [4, 0, 1, 6, 0, 0, 0],
  };
  for (const spec of [MASKED_MEAN, MASKED_MAX, MASKED_LOG_SUM_EXP, MASKED_MOMENTS]) {
    it(`${spec.op}: one shader per structure, not one per shape`, () => {
      const backend = webgl();
      const added: number[] = [];
      for (const shape of shapes) {
        const [b, t] = shape as [number, number, number];
        const before = cached();
        const x = tensor(ramp(product(shape)), shape);
        const mask = tensor(stripes(b * t), [b, t], 'bool');
        backend.uploadToGPU(x.dataId);
        backend.uploadToGPU(mask.dataId);
        const ys = runForward(spec, x, mask, [1]);
        const dx = runGrad(spec, x, mask, ys[0]!);
        added.push(cached() - before);
        dispose([x, mask, ...ys, dx]);
      }
      expect(added).toEqual(expected[spec.op]);
    });
  }

  const expectedPacked: Record<string, number[]> = {
    maskedMean: [1, 0, 1, 0, 1, 0, 1, 0],
    maskedMax: [1, 0, 1, 0, 1, 0, 1, 0],
    maskedLogSumExp: [1, 0, 1, 0, 1, 0, 1, 0],
    maskedMoments: [3, 0, 3, 0, 3, 0, 3, 0],
  };
  for (const spec of [MASKED_MEAN, MASKED_MAX, MASKED_LOG_SUM_EXP, MASKED_MOMENTS]) {
    it(`${spec.op}: one packed-path shader per structure, not one per shape`, () => {
      const backend = webgl();
      const packedPath = () => {
        const cache = (backend as unknown as { binaryCache: Record<string, unknown> }).binaryCache;
        return Object.keys(cache).filter((k) => /^PackedMaskedWindowProgram_/.test(k)).length;
      };
      // Pairs of different shapes in one structure class: pass kind (final, or partial from 129
      // texel rows on), and whether the packed output's and the mask's shape equal their texture
      // shape (tfjs specialises those: an even row count); each pair's second compiles nothing.
      // A composed reducer compiles one program per stage that has none yet (logsumexp's first
      // stage is max's, run before it).
      const pairs = [
        [4, 20, 8],
        [6, 40, 4], // final, even rows
        [5, 30, 6],
        [7, 11, 3], // final, odd rows
        [3, 600, 7],
        [9, 700, 5], // partial (3 windows), odd output rows
        [2, 900, 9],
        [4, 1000, 3], // partial (4 windows), even output rows
      ];
      const added: number[] = [];
      for (const shape of pairs) {
        const [b, t] = shape as [number, number, number];
        const before = packedPath();
        const x0 = tensor(ramp(product(shape)), shape);
        const x = engine().makeTensorFromTensorInfo(backend.packTensor(x0), backend);
        const mask = tensor(stripes(b * t), [b, t], 'bool');
        const ys = runForward(spec, x, mask, [1]);
        added.push(packedPath() - before);
        dispose([x0, x, mask, ...ys]);
      }
      expect(added).toEqual(expectedPacked[spec.op]);
    });
  }

  // The texel path (every axis of a full-shape mask), in x's two layouts, mean and max (the count
  // and the ties statistics). The first shape compiles the path's programs (how many depends on
  // which combine passes the tests above compiled, so it is not counted); each later shape only a
  // variant it is the first of: unpacked, [400,352] the window passes over textures a multiple of
  // four texels wide (a step's texels in one row: the forward's and the statistic's) and [512,512]
  // tfjs's variant of the gradient pass sampling the mask (and x) at its own output texel (their
  // texture shape is dx's); packed, [400,352] tfjs's variants for packed textures whose shape is
  // their logical shape (even R and C: the two window passes and the gradient). [310,333] and
  // [299,299] compile nothing.
  const texelShapes = [
    [300, 301],
    [310, 333],
    [400, 352],
    [512, 512],
    [299, 299],
  ];
  const expectedTexel = { unpacked: [0, 2, 1, 0], packed: [0, 3, 0, 0] };
  for (const spec of [MASKED_MEAN, MASKED_MAX]) {
    for (const layout of ['unpacked', 'packed'] as const) {
      it(`${spec.op}: one texel-path shader per structure (x ${layout})`, () => {
        const backend = webgl();
        const added: number[] = [];
        for (const shape of texelShapes) {
          const before = cached();
          const x0 = tensor(ramp(product(shape)), shape);
          const mask0 = tensor(stripes(product(shape)), shape, 'bool');
          backend.uploadToGPU(x0.dataId);
          backend.uploadToGPU(mask0.dataId);
          const [x, mask] =
            layout === 'packed'
              ? [x0, mask0].map((t) => engine().makeTensorFromTensorInfo(backend.packTensor(t)))
              : [x0, mask0];
          const ys = runForward(spec, x!, mask!, [0, 1]);
          const dx = grad((v: Tensor) => runOp(spec, v, mask!, [0, 1])[0]!)(x!);
          added.push(cached() - before);
          dispose([...new Set([x0, mask0, x!, mask!, ...ys, dx])]);
        }
        expect(added[0]).toBeGreaterThan(0);
        expect(added.slice(1)).toEqual(expectedTexel[layout]);
      });
    }
  }
});

describe('registration', () => {
  it('exports one forward and one gradient config per op, in the table order, then the bag and the softmaxes', () => {
    expect(webglKernelConfigs.map((c) => c.kernelName)).toEqual([
      ...specs(WEBGL_OPS).flatMap((s) => [s.kernelName, s.gradKernelName]),
      'EmbeddingBag',
      'EmbeddingBagGrad',
      'EmbeddingBagSampleWeightsGrad',
      'MaskedSoftmax',
      'MaskedSoftmaxGrad',
      'MaskedLogSoftmax',
      'MaskedLogSoftmaxGrad',
    ]);
    expect(new Set(webglKernelConfigs.map((c) => c.backendName))).toEqual(new Set(['webgl']));
  });
});

defineRegistrationSuite({ describe, it }, 'webgl', webglKernelConfigs);

describe('resources', () => {
  it('leaks no tensor, data id or texture over many forward and backward calls of every op', async () => {
    const backend = webgl();
    const textures = backend.getTextureManager();
    const calls: [number[], number[], number[]][] = [
      [[6, 50, 8], [6, 50], [1]], // one pass
      [[3, 3000, 2], [3, 3000], [1]], // windows + final pass
      [[1, 70_000], [1, 70_000], [1]], // three passes
      [[1, 70_001, 2], [1, 70_001], [1]], // packed path: three passes
      [
        [5, 4, 6, 3],
        [5, 4, 6],
        [0, 2],
      ], // non-contiguous
      [[3, 0, 2], [3, 0], [1]], // empty time axis
      [
        [300, 301],
        [300, 301],
        [0, 1],
      ], // texel path (every axis of a full-shape mask)
    ];
    const inputs = calls.map(([xShape, maskShape]) => {
      const x = tensor(ramp(product(xShape)), xShape);
      const mask = tensor(stripes(product(maskShape)), maskShape, 'bool');
      // x in an unpacked texture, and a packed copy: both paths (the packed one where the layout
      // allows it, else the unpacking one) and their temporaries.
      backend.uploadToGPU(x.dataId);
      const xp = engine().makeTensorFromTensorInfo(backend.packTensor(x), backend);
      expect([
        backend.texData.get(x.dataId).isPacked ?? false,
        backend.texData.get(xp.dataId).isPacked,
      ]).toEqual([false, true]);
      return { x, mask, xp };
    });
    const round = async () => {
      for (const spec of specs(WEBGL_OPS)) {
        for (let i = 0; i < calls.length; i++) {
          const { x, mask, xp } = inputs[i]!;
          const axis = calls[i]![2];
          for (const input of [x, xp]) {
            const ys = runOp(spec, input, mask, axis);
            for (const y of ys) await y.data();
            for (let k = 0; k < ys.length; k++) {
              const dx = grad((v: Tensor) => outputOf(spec, k, v, mask, axis))(input);
              await dx.data();
              dx.dispose();
            }
            dispose(ys);
          }
        }
      }
    };
    await round(); // warm-up: uploads and shader compiles happen here
    const before = {
      tensors: memory().numTensors,
      dataIds: backend.numDataIds(),
      used: textures.getNumUsedTextures(),
    };
    // Two rounds of over 100 calls each: a call that leaks leaves its tensor, data id or texture
    // behind in every round.
    for (let r = 0; r < 2; r++) await round();
    expect({
      tensors: memory().numTensors,
      dataIds: backend.numDataIds(),
      used: textures.getNumUsedTextures(),
    }).toEqual(before);
    for (const { x, mask, xp } of inputs) dispose([x, mask, xp]);
  });

  it('reads inputs that are shallow slices (a flat offset into a larger texture)', async () => {
    const backend = webgl();
    const [B, T, F] = [6, 9, 5];
    const xs = ramp(B * T * F, (i) => Math.sin(i) * 10);
    const ms = stripes(B * T, 4);
    const xAll = tensor(xs, [B, T, F]);
    const mAll = tensor(ms, [B, T], 'bool');
    backend.uploadToGPU(xAll.dataId);
    backend.uploadToGPU(mAll.dataId);
    // Rows 2..4: contiguous, so tfjs slices without copying (texData.slice.flatOffset > 0).
    const x = slice(xAll, [2, 0, 0], [3, T, F]);
    const mask = slice(mAll, [2, 0], [3, T]);
    expect(backend.texData.get(x.dataId).slice?.flatOffset).toBe(2 * T * F);
    expect(backend.texData.get(mask.dataId).slice?.flatOffset).toBe(2 * T);
    for (const spec of specs(WEBGL_OPS)) {
      const ys = runForward(spec, x, mask, [1]);
      for (let k = 0; k < ys.length; k++) {
        const ref = referenceMaskedReduce(
          spec.reducer,
          xs.subarray(2 * T * F, 5 * T * F),
          [3, T, F],
          ms.subarray(2 * T, 5 * T),
          [3, T],
          [1],
          false,
          k,
        );
        compareWithReference(`${spec.op} of a slice (output ${k})`, await ys[k]!.data(), ref);
      }
      dispose(ys);
    }
    dispose([xAll, mAll, x, mask]);
    // The texel path reads the flat offsets too (rows of 400 and 301: steps within a texture row,
    // and steps across rows).
    for (const cols of [400, 301]) {
      const zs = ramp(6 * cols, (i) => Math.cos(i) * 10);
      const ns = stripes(6 * cols, 5);
      const [zAll, nAll] = [tensor(zs, [6, cols]), tensor(ns, [6, cols], 'bool')];
      backend.uploadToGPU(zAll.dataId);
      backend.uploadToGPU(nAll.dataId);
      const z = slice(zAll, [1, 0], [4, cols]);
      const n = slice(nAll, [2, 0], [4, cols]);
      expect(backend.texData.get(z.dataId).slice?.flatOffset).toBe(cols);
      for (const spec of specs(WEBGL_OPS)) {
        const ys = runForward(spec, z, n, [0, 1]);
        for (let k = 0; k < ys.length; k++) {
          const ref = referenceMaskedReduce(
            spec.reducer,
            zs.subarray(cols, 5 * cols),
            [4, cols],
            ns.subarray(2 * cols, 6 * cols),
            [4, cols],
            [0, 1],
            false,
            k,
          );
          compareWithReference(`${spec.op} of a [4,${cols}] slice`, await ys[k]!.data(), ref);
        }
        dispose(ys);
      }
      dispose([zAll, nAll, z, n]);
    }
  });

  it('runs no shader when there is nothing to read', async () => {
    const backend = webgl();
    const original = backend.runWebGLProgram;
    let programs = 0;
    backend.runWebGLProgram = function (this: typeof backend, ...args) {
      programs++;
      return original.apply(this, args);
    };
    try {
      const empty: [number[], number[], number[], number[]][] = [
        // xShape, maskShape, axis, expected output shape (zeros)
        [[3, 0, 2], [3, 0], [1], [3, 2]],
        [[0, 5, 3], [0, 5], [1], [0, 3]],
        [[3, 4, 0], [3, 4], [1], [3, 0]],
        [[2, 0], [2, 0], [1], [2]],
      ];
      for (const spec of specs(WEBGL_OPS)) {
        for (const [xShape, maskShape, axis, outShape] of empty) {
          const x = tensor(new Float32Array(0), xShape);
          const mask = tensor(stripes(product(maskShape)), maskShape, 'bool');
          const keep = maskedGeometry(xShape, maskShape, axis, true).keepDimsShape;
          const dy = tensor(new Float32Array(product(outShape)), keep);
          programs = 0;
          const ys = runForward(spec, x, mask, axis);
          const inputs: Record<string, Tensor> = { dy, mask };
          if (spec.outputs.length === 2) inputs['dy1'] = dy;
          if (spec.gradInputs.length > 0) {
            inputs['x'] = x;
            inputs['y'] = dy;
          }
          const dx = engine().runKernel(spec.gradKernelName, inputs, { axis, xShape }) as Tensor;
          expect(programs, spec.op).toBe(0);
          expect(ys.length).toBe(spec.outputs.length);
          for (const [k, y] of ys.entries()) {
            // Exactly the row's empty value (logsumexp: -Infinity), from no shader.
            expect(y.shape).toEqual(outShape);
            expect(Array.from(await y.data())).toEqual(new Array(y.size).fill(spec.emptyValues[k]));
          }
          expect(dx.shape).toEqual(xShape);
          dispose([x, mask, dy, ...ys, dx]);
        }
      }
    } finally {
      backend.runWebGLProgram = original;
    }
  });
});
