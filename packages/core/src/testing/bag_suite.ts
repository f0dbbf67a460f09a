import { dispose, grads, memory, profile, type Tensor, tensor } from '@tensorflow/tfjs-core';
import { EMBEDDING_BAG } from '../bag/contract.js';
import { type EmbeddingBagOptions, embeddingBag } from '../bag/embedding_bag.js';
import { referenceEmbeddingBag, referenceEmbeddingBagGrad } from '../reference/embedding_bag.js';
import {
  type BagCase,
  bagBatch,
  bagCases,
  bagReferenceInput,
  outOfRangeBagCase,
} from './bag_cases.js';
import { type BagErrorCase, bagErrorCases, bagValueErrorCases } from './bag_errors.js';
import { assertNoLeak, type TestApi } from './suite.js';
import { compareWithReference, type Precision } from './tolerance.js';

export interface BagSuiteOptions {
  /** 'fused': the plugin's kernels must run; 'fallback': none may be registered. */
  path: 'fused' | 'fallback';
  /**
   * The backend's kernels read ids and offsets on the host (cpu, wasm): an out-of-range id or bad
   * offsets must throw. Elsewhere (GPU backends, the fallback) out-of-range ids are skipped.
   */
  readsIds: boolean;
  precision?: Precision;
  timeout?: number;
}

/** The case's tensors and options, as a user passes them. */
function inputsOf(c: BagCase): {
  weight: Tensor;
  ids: Tensor;
  options: EmbeddingBagOptions;
  owned: Tensor[];
} {
  const weight = tensor(c.weight, [c.numEmbeddings, c.dim]);
  const ids = tensor(c.ids, c.idsShape, 'int32');
  const owned = [weight, ids];
  const options: EmbeddingBagOptions = { mode: c.mode };
  if (c.paddingId !== undefined) options.paddingId = c.paddingId;
  if (c.offsets) {
    const offsets = tensor(c.offsets, [c.offsets.length], 'int32');
    owned.push(offsets);
    options.offsets = offsets;
  }
  if (c.includeLastOffset !== undefined) options.includeLastOffset = c.includeLastOffset;
  if (c.perSampleWeights) {
    const psw = tensor(c.perSampleWeights, c.idsShape);
    owned.push(psw);
    options.perSampleWeights = psw;
  }
  return { weight, ids, options, owned };
}

/** Forward and every gradient of one case against the float64 reference; no tensor left behind. */
export async function checkBagCase(c: BagCase, precision: Precision = 'float32'): Promise<void> {
  const ref = referenceEmbeddingBag(bagReferenceInput(c));
  const refGrad = referenceEmbeddingBagGrad(bagReferenceInput(c), c.dy);
  const before = memory().numTensors;
  const { weight, ids, options, owned } = inputsOf(c);
  const batch = bagBatch(c);

  const y = embeddingBag(weight, ids, options);
  const shape = y.shape.join(',');
  if (shape !== `${batch},${c.dim}` || y.dtype !== 'float32') {
    throw new Error(`forward: ${y.dtype} [${shape}], expected float32 [${batch},${c.dim}]`);
  }
  compareWithReference('embeddingBag forward', await y.data(), ref, precision);

  const dy = tensor(c.dy, [batch, c.dim]);
  const psw = options.perSampleWeights as Tensor | undefined;
  const f = (w: Tensor, p?: Tensor) =>
    embeddingBag(w, ids, p ? { ...options, perSampleWeights: p } : options);
  const gs = psw
    ? grads((w: Tensor, p: Tensor) => f(w, p))([weight, psw], dy)
    : grads((w: Tensor) => f(w))([weight], dy);
  compareWithReference(
    'embeddingBag d weight',
    await gs[0]!.data(),
    { values: refGrad.dWeight, counts: refGrad.dWeightCounts, scales: refGrad.dWeightScales },
    precision,
  );
  if (psw) {
    compareWithReference(
      'embeddingBag d perSampleWeights',
      await gs[1]!.data(),
      { values: refGrad.dPerSampleWeights! },
      precision,
    );
  }
  dispose([y, dy, ...gs, ...owned]);
  assertNoLeak(before);
}

/** The kernels that run forward and backward (fused) or none of the plugin's (fallback). */
async function checkBagPath(path: 'fused' | 'fallback'): Promise<void> {
  const weight = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  const ids = tensor(
    [
      [1, 2],
      [0, 0],
    ],
    [2, 2],
    'int32',
  );
  const psw = tensor([
    [1, 2],
    [3, 4],
  ]);
  const dy = tensor([
    [1, 1],
    [1, 1],
  ]);
  const names = async (fn: () => Tensor | Tensor[]) => {
    const info = await profile(fn);
    dispose(info.result as Tensor | Tensor[]);
    return info.kernels.map((k) => k.name);
  };
  const forward = await names(() => embeddingBag(weight, ids, { mode: 'sum' }));
  const backward = await names(() =>
    grads((w: Tensor, p: Tensor) => embeddingBag(w, ids, { mode: 'sum', perSampleWeights: p }))(
      [weight, psw],
      dy,
    ),
  );
  dispose([weight, ids, psw, dy]);
  const all = [...forward, ...backward];
  const ours = Object.values(EMBEDDING_BAG);
  const ran = ours.filter((k) => all.includes(k));
  if (path === 'fused' ? ran.length !== ours.length : ran.length !== 0) {
    throw new Error(
      `${path} path ran [${ran}] of [${ours}]; forward [${forward}], backward [${backward}]`,
    );
  }
}

/** The message of a bad call's error ('' when it does not throw), checking that nothing leaked. */
function messageOf(e: BagErrorCase): string {
  const { args, owned } = e.make();
  const before = memory().numTensors;
  let message = '';
  try {
    dispose((embeddingBag as (...a: unknown[]) => Tensor)(...args));
  } catch (err) {
    message = (err as Error).message;
  }
  assertNoLeak(before);
  dispose(owned.filter((t) => !t.isDisposed));
  return message;
}

/**
 * Registers the embedding bag's conformance suite for the active backend: every case forward and
 * both gradients against the float64 reference, the kernel path, and every error.
 */
export function defineEmbeddingBagSuite(t: TestApi, options: BagSuiteOptions): void {
  const precision = options.precision ?? 'float32';
  const { timeout } = options;
  t.describe(`embeddingBag conformance (${options.path}, ${precision})`, () => {
    t.it('runs the expected kernels', () => checkBagPath(options.path));
    for (const c of bagCases()) t.it(c.name, () => checkBagCase(c, precision), timeout);

    const oor = outOfRangeBagCase();
    if (options.readsIds) {
      t.it(`${oor.name}: an error naming the id and the range`, () => {
        const message = messageOf({
          name: oor.name,
          make: () => {
            const { weight, ids, options: o, owned } = inputsOf(oor);
            return { args: [weight, ids, o], owned };
          },
          message: /./,
        });
        if (!/^embeddingBag: ids\[1\] = 7 is outside \[0, 5\)/.test(message)) {
          throw new Error(`unexpected message ${JSON.stringify(message)}`);
        }
      });
      for (const e of bagValueErrorCases) {
        t.it(e.name, () => {
          const message = messageOf(e);
          if (!e.message.test(message) || !message.startsWith('embeddingBag: ')) {
            throw new Error(`expected ${e.message}, got ${JSON.stringify(message)}`);
          }
        });
      }
    } else {
      t.it(`${oor.name}: skipped like padding (documented for backends that do not read ids)`, () =>
        checkBagCase(oor, precision),
      );
    }

    t.describe('bad input throws before any kernel runs and leaks nothing', () => {
      for (const e of bagErrorCases) {
        t.it(e.name, () => {
          const message = messageOf(e);
          if (!e.message.test(message) || !message.startsWith('embeddingBag: ')) {
            throw new Error(`expected ${e.message}, got ${JSON.stringify(message)}`);
          }
        });
      }
    });
  });
}
