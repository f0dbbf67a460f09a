// Masked softmax / log-softmax on the primary configuration (WebGL 2, tfjs's defaults): core's
// softmax conformance suite (every case forward and gradient against the float64 reference, the
// fused-path check, every error), plus kernel-level checks: long rows through the merge passes,
// packed inputs, no leaked tensors or textures, one shader per structure.
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';
import {
  MASKED_SOFTMAXES,
  maskedLogSoftmax,
  maskedSoftmax,
  referenceMaskedSoftmax,
  referenceMaskedSoftmaxGrad,
} from '@masked-ops/core';
import {
  compareWithReference,
  defineSoftmaxSuite,
  randomFloats,
  seededRandom,
} from '@masked-ops/core/testing';
import {
  add,
  dispose,
  env,
  getKernel,
  grad,
  memory,
  registerKernel,
  reshape,
  setBackend,
  type Tensor,
  tensor,
} from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { webglSoftmaxKernelConfigs } from '../src/kernels/softmax.js';
import { webgl } from './helpers.js';

// Registered here too until register_all_kernels.ts lists them (then this is a no-op).
for (const c of webglSoftmaxKernelConfigs) {
  if (getKernel(c.kernelName, 'webgl') === undefined) registerKernel(c);
}

beforeAll(async () => {
  expect(await setBackend('webgl')).toBe(true);
  expect(env().getNumber('WEBGL_VERSION')).toBe(2);
});

defineSoftmaxSuite({ describe, it }, { path: 'fused', precision: 'float32', timeout: 60_000 });

const OPS = { maskedSoftmax, maskedLogSoftmax } as const;

/** Forward and gradient of a row's op vs the float64 reference, for logits as given. */
async function check(
  log: boolean,
  logitsT: Tensor,
  logits: Float32Array,
  maskShape: number[],
  maskValues: number[],
  axis: number,
  prepareMask?: (mask: Tensor) => void,
): Promise<void> {
  const shape = logitsT.shape;
  const rand = seededRandom(99);
  const dyValues = randomFloats(rand, logits.length, -1, 1);
  const input = { logits, logitsShape: shape, mask: maskValues, maskShape, axis, log };
  const mask = tensor(maskValues, maskShape, 'bool');
  prepareMask?.(mask);
  const dy = tensor(dyValues, shape);
  const f = log ? OPS.maskedLogSoftmax : OPS.maskedSoftmax;
  const y = f(logitsT, mask, axis);
  const dx = grad((l: Tensor) => f(l, mask, axis))(logitsT, dy);
  try {
    compareWithReference('forward', await y.data(), referenceMaskedSoftmax(input));
    compareWithReference('gradient', await dx.data(), referenceMaskedSoftmaxGrad(input, dyValues));
  } finally {
    dispose([mask, dy, y, dx]);
  }
}

describe('masked softmax kernels (webgl)', () => {
  it('rows longer than one window: two merge passes (n = 70,000), axis 0 with inner 2', async () => {
    // n > 256 * 256: a first pass of 274 windows per row, then two merge passes.
    const n = 70_000;
    const rand = seededRandom(5);
    const logits = randomFloats(rand, n * 2, -20, 20);
    const maskValues = Array.from({ length: n }, (_, k) => (k % 7 === 3 ? 0 : 1));
    const x = tensor(logits, [n, 2]);
    for (const log of [false, true]) await check(log, x, logits, [n, 1], maskValues, 0);
    x.dispose();
  }, 60_000);

  it('more rows than a texture holds: j logits rows per texture row (split layout)', async () => {
    // With textures of at most 64 texels a side, 130 rows go 5 to a texture row (26 x 5n).
    const limit = env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
    env().set('WEBGL_MAX_TEXTURE_SIZE', 64);
    try {
      const cases = [
        { shape: [130, 6], maskShape: [130, 6] },
        { shape: [130, 6], maskShape: [1, 6] },
        { shape: [2, 65, 3], maskShape: [2, 1, 3] },
      ];
      for (const c of cases) {
        const rand = seededRandom(11);
        const size = c.shape.reduce((p, d) => p * d, 1);
        const logits = randomFloats(rand, size, -6, 6);
        const maskSize = c.maskShape.reduce((p, d) => p * d, 1);
        // Some all-masked rows in the full mask (every 5th row).
        const maskValues = Array.from({ length: maskSize }, (_, k) =>
          Math.floor(k / 6) % 5 === 2 || k % 4 === 1 ? 0 : 1,
        );
        const x = tensor(logits, c.shape);
        for (const log of [false, true]) {
          await check(log, x, logits, c.maskShape, maskValues, c.shape.length - 1);
        }
        x.dispose();
      }
    } finally {
      env().set('WEBGL_MAX_TEXTURE_SIZE', limit);
    }
  });

  it('reads logits whose texture has another layout (a reshaped tensor)', async () => {
    const rand = seededRandom(12);
    const logits = randomFloats(rand, 24, -3, 3);
    const t = tensor(logits, [6, 4]);
    const x = reshape(t, [4, 6]); // shares the [6, 4] texture
    for (const log of [false, true])
      await check(
        log,
        x,
        logits,
        [4, 6],
        [...Array(24)].map((_, k) => (k % 5 === 0 ? 0 : 1)),
        1,
      );
    dispose([t, x]);
  });

  it('reads packed logits (the output of a packed op) and packed dy', async () => {
    const rand = seededRandom(6);
    const shape = [2, 3, 4, 6];
    const a = randomFloats(rand, 144, -3, 3);
    const maskValues = [1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0];
    const ta = tensor(a, shape);
    const x = add(ta, 0); // tfjs's packed binary op: x in a packed texture
    expect(webgl().texData.get(x.dataId).isPacked).toBe(true);
    for (const log of [false, true]) await check(log, x, a, [2, 1, 1, 6], maskValues, 3);
    dispose([ta, x]);
  });

  it('broadcast masks through a row-pair texture: key padding, causal, a mask along the axis', async () => {
    // MaskPairs (programs/softmax.ts): 'shared' (key padding, n odd: a padding texel column),
    // 'consecutive' (causal; a [B,T,1] mask whose row length is 1; a full mask in an unpacked
    // texture), and a full mask uploaded packed, read where it is. Mask rows: a valid prefix of
    // each length, none (a row of zeros) included.
    const backend = webgl();
    const run = backend.runWebGLProgram;
    const ran: string[] = [];
    backend.runWebGLProgram = function (this: typeof backend, ...args: Parameters<typeof run>) {
      ran.push(args[0].constructor.name);
      return run.apply(this, args);
    };
    const cases = [
      { shape: [2, 3, 4, 5], maskShape: [2, 1, 1, 5], pairs: true },
      { shape: [2, 2, 6, 6], maskShape: [6, 6], pairs: true },
      { shape: [4, 2, 6], maskShape: [4, 2, 1], pairs: true },
      { shape: [4, 6], maskShape: [4, 6], pairs: true, unpackedMask: true },
      { shape: [4, 6], maskShape: [4, 6], pairs: false },
    ];
    try {
      for (const c of cases) {
        const size = c.shape.reduce((p, d) => p * d, 1);
        const logits = randomFloats(seededRandom(size), size, -5, 5);
        const maskSize = c.maskShape.reduce((p, d) => p * d, 1);
        const n = c.maskShape.at(-1)!;
        // Row r of the mask: a valid prefix of r % (n + 1) positions (row 0 all padding).
        const maskValues = Array.from({ length: maskSize }, (_, e) =>
          e % n < Math.floor(e / n) % (n + 1) ? 1 : 0,
        );
        ran.length = 0;
        const x = tensor(logits, c.shape);
        for (const log of [false, true]) {
          await check(log, x, logits, c.maskShape, maskValues, c.shape.length - 1, (m) => {
            if (c.unpackedMask) backend.uploadToGPU(m.dataId);
          });
        }
        x.dispose();
        // One copy per call, or none: check runs each op's forward twice (alone, then under
        // grad) and its gradient once.
        expect(ran.filter((name) => name === 'MaskPairsProgram').length).toBe(c.pairs ? 6 : 0);
        expect(ran).toContain('PackedRowPassProgram');
      }
    } finally {
      backend.runWebGLProgram = run;
    }
  });

  it('a key-padded row gives bitwise the values of the same row alone, forward and gradient', async () => {
    // The attention property (apps/demo): a real query's output does not depend on the padding
    // after its keys. Rows of 70 keys (three windows) padded after 45 and 70 keys, against the
    // same rows alone with every key valid.
    const [b, h, q, lk] = [2, 2, 2, 70];
    const lengths = [45, 70];
    const rows = h * q;
    const rand = seededRandom(21);
    const logits = randomFloats(rand, b * rows * lk, -6, 6);
    const dyValues = randomFloats(rand, b * rows * lk, -1, 1);
    const maskValues = lengths.flatMap((len) => Array.from({ length: lk }, (_, k) => k < len));
    const mask = tensor(maskValues, [b, 1, 1, lk], 'bool');
    const x = tensor(logits, [b, h, q, lk]);
    const dy = tensor(dyValues, [b, h, q, lk]);
    for (const f of Object.values(OPS)) {
      const y = f(x, mask);
      const dx = grad((l: Tensor) => f(l, mask))(x, dy);
      const [yPadded, dxPadded] = [await y.data(), await dx.data()];
      dispose([y, dx]);
      for (let i = 0; i < b; i++) {
        const len = lengths[i]!;
        // Batch element i's rows, each cut to its first len keys.
        const rowsOf = (v: ArrayLike<number>) =>
          Array.from({ length: rows * len }, (_, e) => {
            const r = Math.floor(e / len);
            return v[(i * rows + r) * lk + (e - r * len)]!;
          });
        const xAlone = tensor(rowsOf(logits), [1, h, q, len]);
        const dyAlone = tensor(rowsOf(dyValues), [1, h, q, len]);
        const all = tensor(
          Array.from({ length: len }, () => true),
          [1, 1, 1, len],
          'bool',
        );
        const yAlone = f(xAlone, all);
        const dxAlone = grad((l: Tensor) => f(l, all))(xAlone, dyAlone);
        expect(rowsOf(yPadded)).toEqual(Array.from(await yAlone.data()));
        expect(rowsOf(dxPadded)).toEqual(Array.from(await dxAlone.data()));
        dispose([xAlone, dyAlone, all, yAlone, dxAlone]);
      }
    }
    dispose([mask, x, dy]);
  });

  it('leaks no tensors, data ids or textures over forward and backward calls', async () => {
    const x = tensor(randomFloats(seededRandom(7), 2 * 600, -4, 4), [2, 600]);
    const mask = tensor(
      Array.from({ length: 600 }, (_, k) => k % 3 !== 0),
      [1, 600],
      'bool',
    );
    const dy = tensor(randomFloats(seededRandom(8), 1200, -1, 1), [2, 600]);
    const round = async () => {
      for (const f of Object.values(OPS)) {
        const y = f(x, mask);
        const dx = grad((l: Tensor) => f(l, mask))(x, dy);
        await dx.data();
        dispose([y, dx]);
      }
    };
    const backend = webgl();
    const state = () => ({
      tensors: memory().numTensors,
      dataIds: backend.numDataIds(),
      used: backend.getTextureManager().getNumUsedTextures(),
    });
    await round(); // compiles, uploads
    const before = state();
    for (let r = 0; r < 2; r++) await round();
    expect(state()).toEqual(before);
    dispose([x, mask, dy]);
  });

  it('compiles one shader per structure, not per shape', async () => {
    // Our programs only: tfjs's own (uploads, packing dy) are compiled per texture layout.
    const ours =
      /^(RowPassProgram|RowMergeProgram|PackedRow(Pass|Merge)Program|MaskPairsProgram|Softmax(Packed)?(Output|Grad)Program)_/;
    const binaries = () =>
      Object.keys(
        (webgl() as unknown as { binaryCache: Record<string, unknown> }).binaryCache,
      ).filter((k) => ours.test(k)).length;
    const run = async (b: number, n: number) => {
      const x = tensor(randomFloats(seededRandom(b), b * 3 * n, -2, 2), [b, 3, n]);
      const mask = tensor(
        Array.from({ length: b * n }, (_, k) => k % 4 !== 1),
        [b, 1, n],
        'bool',
      );
      for (const row of MASKED_SOFTMAXES) {
        const f = OPS[row.op as keyof typeof OPS];
        const dy = add(x, 1);
        const dx = grad((l: Tensor) => f(l, mask))(x, dy);
        await dx.data();
        dispose([dy, dx]);
      }
      dispose([x, mask]);
    };
    // One row window, then two (a first pass and a merge pass); an even number of rows (packed
    // output), an odd one (unpacked), and b = 1 (the mask [1, 1, n] broadcasts along every row).
    for (const b of [2, 3, 1]) {
      await run(b, 5);
      await run(b, 300);
    }
    const first = binaries();
    expect(first).toBeGreaterThan(0);
    for (const [b, n] of [
      [3, 17],
      [5, 100],
      [3, 600],
      [1, 257],
      [4, 100],
      [6, 600],
    ] as const) {
      await run(b, n);
    }
    expect(binaries()).toBe(first);
  });
});
