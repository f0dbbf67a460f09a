// Kernel-level properties on the primary configuration (WebGL 2, defaults): registration, no
// leaked tensors or textures, one shader per structure (not per shape), no shader for empty work.
import '@tensorflow/tfjs-backend-webgl';
import { MaskedMean, MaskedMeanGrad, maskedMean } from '@masked-ops/core';
import {
  dispose,
  engine,
  getKernel,
  grad,
  memory,
  registerKernel,
  setBackend,
  slice,
  type Tensor,
  tensor,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  maskedMeanGradWebGLConfig,
  maskedMeanWebGLConfig,
  webglKernelConfigs,
} from '../src/index.js';
import { runMaskedMean, webgl } from './helpers.js';

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
});

const ramp = (n: number, f = (i: number) => (i % 13) - 6): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => f(i));
const stripes = (n: number, period = 3): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i % period === 0 ? 0 : 1));

// First, while the shader cache holds none of our programs.
describe('shader cache', () => {
  it('compiles one shader per structure, not one per shape', async () => {
    const backend = webgl();
    const cache = (backend as unknown as { binaryCache: Record<string, unknown> }).binaryCache;
    const ours = () =>
      Object.keys(cache).filter((k) =>
        /^(MaskedWindowProgram|CombineProgram|MaskedMeanGradProgram|PackedMaskedWindowProgram|MaskedMeanGradPackedProgram)_/.test(
          k,
        ),
      ).length;
    // Same structure, different sizes, in three texture-layout classes: all textures narrow;
    // two passes; outputs over WEBGL_MAX_SIZE_FOR_NARROW_TEXTURE (tfjs squarifies them, which
    // changes its generated output-coordinate code, a variant compiled once).
    const shapes = [
      [4, 20, 8],
      [5, 30, 6],
      [7, 11, 3],
      [3, 600, 7],
      [2, 900, 9],
      [9, 200, 5],
      [8, 150, 6],
    ];
    const counts: number[] = [];
    for (const shape of shapes) {
      const [b, t] = shape as [number, number, number];
      const x = tensor(ramp(shape.reduce((p, d) => p * d, 1)), shape);
      const mask = tensor(stripes(b * t), [b, t], 'bool');
      backend.uploadToGPU(x.dataId);
      backend.uploadToGPU(mask.dataId);
      const y = runMaskedMean(x, mask, [1]);
      const dx = engine().runKernel(
        MaskedMeanGrad,
        { dy: tensor(ramp(b * shape[2]!), [b, 1, shape[2]!]), mask },
        { axis: [1], xShape: shape },
      ) as Tensor;
      counts.push(ours());
      dispose([x, mask, y, dx]);
    }
    // Single pass: forward, counts, gradient (written packed under WEBGL_PACK). [7,11,3] adds the
    // packed gradient's variant for an odd last dim (tfjs keys shaders by whether the output's
    // row stride equals its texture width). [3,600,7] adds the forward window pass, its final
    // combine and the count combine; after that no new shader, whatever the sizes.
    expect(counts).toEqual([3, 3, 4, 7, 7, 7, 7]);
  });

  it('compiles one packed-path shader per structure, not one per shape', async () => {
    const backend = webgl();
    const cache = (backend as unknown as { binaryCache: Record<string, unknown> }).binaryCache;
    const packedPath = () =>
      Object.keys(cache).filter((k) => /^PackedMaskedWindowProgram_/.test(k)).length;
    // Pairs of different shapes in one structure class: pass kind ('mean', or 'partial' from
    // 129 texel rows on), and whether the packed output's and the mask's shape equal their
    // texture shape (tfjs specialises those: an even row count), each pair's second compiles
    // nothing new.
    const shapes = [
      [4, 20, 8],
      [6, 40, 4], // mean, even rows
      [5, 30, 6],
      [7, 11, 3], // mean, odd rows
      [3, 600, 7],
      [9, 700, 5], // partial (3 windows), odd output rows
      [2, 900, 9],
      [4, 1000, 3], // partial (4 windows), even output rows
    ];
    const counts: number[] = [];
    for (const shape of shapes) {
      const [b, t] = shape as [number, number, number];
      const x0 = tensor(ramp(shape.reduce((p, d) => p * d, 1)), shape);
      const x = engine().makeTensorFromTensorInfo(backend.packTensor(x0), backend);
      const mask = tensor(stripes(b * t), [b, t], 'bool');
      const y = runMaskedMean(x, mask, [1]);
      counts.push(packedPath());
      dispose([x0, x, mask, y]);
    }
    expect(counts).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });
});

describe('registration', () => {
  it('registers both kernels for webgl on import and exports their configs', () => {
    expect(webglKernelConfigs).toEqual([maskedMeanWebGLConfig, maskedMeanGradWebGLConfig]);
    expect(getKernel(MaskedMean, 'webgl')?.kernelFunc).toBe(maskedMeanWebGLConfig.kernelFunc);
    expect(getKernel(MaskedMeanGrad, 'webgl')?.kernelFunc).toBe(
      maskedMeanGradWebGLConfig.kernelFunc,
    );
  });

  it('unregistered, the op takes the composite path; re-registered, the fused one', async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
      [100, 100],
    ]);
    const mask = tensor([1, 1, 0], [3], 'bool');
    const kernels = async () => (await engine().profile(() => maskedMean(x, mask, 0))).kernelNames;
    for (const c of webglKernelConfigs) unregisterKernel(c.kernelName, 'webgl');
    expect(await kernels()).not.toContain(MaskedMean);
    const composite = await maskedMean(x, mask, 0).array();
    for (const c of webglKernelConfigs) registerKernel(c);
    expect(await kernels()).toContain(MaskedMean);
    const fused = await maskedMean(x, mask, 0).array();
    expect(composite).toEqual([2, 3]);
    expect(fused).toEqual([2, 3]);
    dispose([x, mask]);
  });
});

describe('resources', () => {
  it('leaks no tensor, data id or texture over many forward and backward calls', async () => {
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
    ];
    const inputs = calls.map(([xShape, maskShape]) => {
      const n = xShape.reduce((p, d) => p * d, 1);
      const m = maskShape.reduce((p, d) => p * d, 1);
      const x = tensor(ramp(n), xShape);
      const mask = tensor(stripes(m), maskShape, 'bool');
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
      for (let i = 0; i < calls.length; i++) {
        const { x, mask, xp } = inputs[i]!;
        const axis = calls[i]![2];
        for (const input of [x, xp]) {
          const y = maskedMean(input, mask, axis);
          const dx = grad((v: Tensor) => maskedMean(v, mask, axis))(input);
          await y.data();
          await dx.data();
          dispose([y, dx]);
        }
      }
    };
    await round(); // warm-up: uploads and shader compiles happen here
    const before = {
      tensors: memory().numTensors,
      dataIds: backend.numDataIds(),
      used: textures.getNumUsedTextures(),
    };
    for (let r = 0; r < 5; r++) await round();
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
    const xAll = tensor(
      ramp(B * T * F, (i) => Math.sin(i) * 10),
      [B, T, F],
    );
    const mAll = tensor(stripes(B * T, 4), [B, T], 'bool');
    backend.uploadToGPU(xAll.dataId);
    backend.uploadToGPU(mAll.dataId);
    // Rows 2..4: contiguous, so tfjs slices without copying (texData.slice.flatOffset > 0).
    const x = slice(xAll, [2, 0, 0], [3, T, F]);
    const mask = slice(mAll, [2, 0], [3, T]);
    expect(backend.texData.get(x.dataId).slice?.flatOffset).toBe(2 * T * F);
    expect(backend.texData.get(mask.dataId).slice?.flatOffset).toBe(2 * T);
    const y = await runMaskedMean(x, mask, [1]).data();
    const xs = ramp(B * T * F, (i) => Math.sin(i) * 10);
    const ms = stripes(B * T, 4);
    for (let b = 0; b < 3; b++) {
      for (let f = 0; f < F; f++) {
        let sum = 0;
        let count = 0;
        for (let t = 0; t < T; t++) {
          if (!ms[(b + 2) * T + t]) continue;
          sum += xs[((b + 2) * T + t) * F + f]!;
          count++;
        }
        expect(y[b * F + f]).toBeCloseTo(sum / count, 4);
      }
    }
    dispose([xAll, mAll, x, mask]);
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
      for (const [xShape, maskShape, axis, outShape] of empty) {
        const x = tensor(new Float32Array(0), xShape);
        const mask = tensor(stripes(maskShape.reduce((p, d) => p * d, 1)), maskShape, 'bool');
        programs = 0;
        const y = runMaskedMean(x, mask, axis);
        const dx = engine().runKernel(
          MaskedMeanGrad,
          {
            dy: tensor(
              new Float32Array(outShape.reduce((p, d) => p * d, 1)),
              xShape.map((d, i) => (axis.includes(i) ? 1 : d)),
            ),
            mask,
          },
          { axis, xShape },
        ) as Tensor;
        expect(programs).toBe(0);
        expect(y.shape).toEqual(outShape);
        expect(Array.from(await y.data())).toEqual(new Array(y.size).fill(0));
        expect(dx.shape).toEqual(xShape);
        dispose([x, mask, y, dx]);
      }
    } finally {
      backend.runWebGLProgram = original;
    }
  });
});
