/**
 * The end-to-end checks every backend runs (cpu and wasm in Node, webgl in headless Chromium):
 * the example, Masking -> LSTM -> pooling against the float64 reference, training on
 * padded sequences, and tensor leaks, for mean pooling; the same example, gradients, training and
 * leaks for max pooling; EmbeddingBag's outputs and gradients against the float64 reference in
 * every mode, training and leaks; the mask-aware Softmax layer (test/support/softmax_scenarios.ts).
 * The caller imports the backend (and its plugin) and names it.
 */
import { MASKED_MAX, MASKED_MEAN } from '@masked-ops/core';
import { getBackend, getKernel, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BAG_CASES,
  BAG_MODES,
  bagForwardScenario,
  bagGradScenario,
  bagLeakScenario,
} from './bag_scenarios.js';
import {
  EMBEDDING_GRAD_EXPECTED,
  embeddingMaxGradScenario,
  embeddingPoolModel,
  embeddingPoolReference,
  FIT_MIN_FACTOR,
  type FitKind,
  fitScenario,
  GRAD_EXPECTED,
  lstmScenario,
  MAX_EMBEDDINGS,
  maxPoolGradScenario,
  type PoolReducer,
  predictLeak,
  predictRows,
} from './scenarios.js';
import { defineSoftmaxLayerSuite } from './softmax_scenarios.js';

export interface BackendSuiteOptions {
  backend: 'cpu' | 'wasm' | 'webgl';
  /** Whether a fused MaskedMean plugin is loaded (else core's composite fallback runs). */
  fused: boolean;
  /** Receives the measured convergence factor, for the report. */
  onFit?: (kind: FitKind, factor: number, reducer: PoolReducer) => void;
  /** Receives the Softmax layer's measured convergence factor, for the report. */
  onSoftmaxFit?: (factor: number) => void;
}

export function defineBackendSuite({
  backend,
  fused,
  onFit,
  onSoftmaxFit,
}: BackendSuiteOptions): void {
  describe(`layers on ${backend} (${fused ? 'fused plugin kernels' : 'composite fallback'})`, () => {
    beforeAll(async () => {
      expect(await setBackend(backend)).toBe(true);
      expect(getBackend()).toBe(backend);
    });

    it(`runs maskedMean and maskedMax through ${fused ? 'the plugin kernels' : 'the fallback'}`, () => {
      for (const row of [MASKED_MEAN, MASKED_MAX]) {
        expect(getKernel(row.kernelName, backend) !== undefined).toBe(fused);
        expect(getKernel(row.gradKernelName, backend) !== undefined).toBe(fused);
      }
    });

    it('Embedding(maskZero) -> GlobalAveragePooling1D: [[1,2,0,0]] gives [2,2] (stock tfjs: [1,1])', async () => {
      expect(await predictRows(embeddingPoolModel('masked'), [[1, 2, 0, 0]])).toEqual([[2, 2]]);
      // The bug being fixed: tfjs-layers' own layer averages the padding in.
      expect(await predictRows(embeddingPoolModel('stock'), [[1, 2, 0, 0]])).toEqual([[1, 1]]);
    });

    it('averages only real tokens per row; an all-padding row gives 0, not NaN', async () => {
      const rows = [
        [2, 0, 0, 0],
        [1, 1, 2, 2],
        [0, 0, 0, 0],
        [2, 1, 1, 0],
      ];
      // (1+1+3+3)/4 = 2; (3+1+1)/3 = 5/3.
      const out = await predictRows(embeddingPoolModel('masked'), rows);
      const expected = [
        [3, 3],
        [2, 2],
        [0, 0],
        [5 / 3, 5 / 3],
      ];
      out.flat().forEach((v, i) => {
        expect(v).toBeCloseTo(expected.flat()[i]!, 6);
      });
    });

    it('padding vectors never leak, even NaN ones', async () => {
      const nanPadding = [
        [Number.NaN, Number.NaN],
        [1, 1],
        [3, 3],
      ];
      expect(await predictRows(embeddingPoolModel('masked', nanPadding), [[1, 2, 0, 0]])).toEqual([
        [2, 2],
      ]);
      const stock = await predictRows(embeddingPoolModel('stock', nanPadding), [[1, 2, 0, 0]]);
      expect(stock.flat().every(Number.isNaN)).toBe(true);
    });

    it('Masking -> LSTM(returnSequences) -> GlobalAveragePooling1D matches the float64 maskedMean of the LSTM outputs', async () => {
      const r = await lstmScenario();
      expect(r.worst).toBeNull();
      // All-padding row 3 pools to exactly 0.
      expect(r.pooled[3]).toEqual([0, 0, 0, 0]);
      // The mask matters here: rows 0 and 2 have padding steps whose LSTM outputs are not 0.
      const differs = (row: number) =>
        [0, 1, 2, 3].some(
          (u) => Math.abs(r.reference[row * 4 + u]! - r.plainMean[row * 4 + u]!) > 1e-3,
        );
      expect(differs(0)).toBe(true);
      expect(differs(2)).toBe(true);
    });

    const fitKinds: FitKind[] = backend === 'wasm' ? ['onehot'] : ['embedding', 'onehot'];
    for (const kind of fitKinds) {
      it(`model.fit (${kind}) on padded sequences, all-padding rows in every batch: loss falls >= ${FIT_MIN_FACTOR}x, no NaN, no leak`, async () => {
        const r = await fitScenario(kind);
        onFit?.(kind, r.initialLoss / r.finalLoss, 'mean');
        expect(Number.isFinite(r.initialLoss)).toBe(true);
        expect(r.epochLosses.every(Number.isFinite)).toBe(true);
        expect(r.weightsFinite).toBe(true);
        expect(r.finalLoss).toBeLessThan(r.initialLoss / FIT_MIN_FACTOR);
        expect(r.tensorsAfterFit).toBe(r.tensorsBeforeFit);
      });
    }

    it('predict leaks no tensor', async () => {
      const model = embeddingPoolModel('masked');
      const [before, after] = await predictLeak(model, [
        [1, 2, 0, 0],
        [0, 0, 0, 0],
      ]);
      expect(after).toBe(before);
      model.dispose();
    });

    describe('GlobalMaxPooling1D', () => {
      // Embeddings 0 (padding) -> [2, 2], 1 -> [1, -1], 2 -> [-3, 3].
      const rows = [
        [1, 2, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [2, 2, 2, 2],
      ];

      it('Embedding(maskZero) -> GlobalMaxPooling1D: the max over real tokens (stock tfjs: the padding’s [2, 2] wins)', async () => {
        const masked = await predictRows(embeddingPoolModel('masked', MAX_EMBEDDINGS, 'max'), rows);
        // Max is exact: every value must equal the float64 reference's (float32-representable) one.
        expect(masked).toEqual(embeddingPoolReference('max', MAX_EMBEDDINGS, rows, 'masked'));
        expect(masked).toEqual([
          [1, 3],
          [1, -1],
          [0, 0], // all padding: maskedMax's empty value
          [-3, 3],
        ]);
        const stock = await predictRows(embeddingPoolModel('stock', MAX_EMBEDDINGS, 'max'), rows);
        expect(stock).toEqual(embeddingPoolReference('max', MAX_EMBEDDINGS, rows, 'stock'));
        expect(stock.slice(0, 3)).toEqual([
          [2, 3],
          [2, 2],
          [2, 2],
        ]);
      });

      it('padding vectors never win, even NaN or +Infinity ones', async () => {
        for (const pad of [Number.NaN, Number.POSITIVE_INFINITY]) {
          const embeddings = [[pad, pad], ...MAX_EMBEDDINGS.slice(1)];
          const out = await predictRows(embeddingPoolModel('masked', embeddings, 'max'), rows);
          expect(out).toEqual([
            [1, 3],
            [1, -1],
            [0, 0],
            [-3, 3],
          ]);
        }
      });

      it('the gradient reaches only the arg-max real steps (split among ties), never the padding', async () => {
        const { y, dx } = await maxPoolGradScenario();
        expect(y).toEqual([
          [3, 5],
          [2, 0],
        ]);
        expect(dx).toEqual(GRAD_EXPECTED);
      });

      // tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of Gather needs.
      if (backend !== 'wasm') {
        it('through Embedding(maskZero): only the arg-max real tokens’ embedding rows get a gradient', async () => {
          expect(await embeddingMaxGradScenario()).toEqual(EMBEDDING_GRAD_EXPECTED);
        });
      }

      for (const kind of fitKinds) {
        it(`model.fit (${kind}) on padded sequences, target the max over real tokens: loss falls >= ${FIT_MIN_FACTOR}x, no NaN, no leak`, async () => {
          const r = await fitScenario(kind, 'masked', 'max');
          onFit?.(kind, r.initialLoss / r.finalLoss, 'max');
          expect(Number.isFinite(r.initialLoss)).toBe(true);
          expect(r.epochLosses.every(Number.isFinite)).toBe(true);
          expect(r.weightsFinite).toBe(true);
          expect(r.finalLoss).toBeLessThan(r.initialLoss / FIT_MIN_FACTOR);
          expect(r.tensorsAfterFit).toBe(r.tensorsBeforeFit);
        });
      }

      it('predict leaks no tensor', async () => {
        const model = embeddingPoolModel('masked', MAX_EMBEDDINGS, 'max');
        const [before, after] = await predictLeak(model, rows);
        expect(after).toBe(before);
        model.dispose();
      });
    });

    // Runs core's EmbeddingBag kernels where the backend's plugin registers them, else core's
    // built-in-op fallback; either must match the float64 reference.
    describe('EmbeddingBag', () => {
      for (const c of BAG_CASES) {
        for (const mode of BAG_MODES) {
          it(`${mode}, ${c.label}: predict on float32 ids equals the float64 referenceEmbeddingBag`, async () => {
            const { output, problems } = await bagForwardScenario(c, mode);
            expect(problems).toEqual([]);
            // The empty bag (all padding) is exactly zeros; the poisoned padding row never leaks.
            if (c.paddingId !== null) expect(output[1]).toEqual([0, 0, 0]);
            expect(output.flat().every(Number.isFinite)).toBe(true);
          });

          it(`${mode}, ${c.label}: the gradient reaches the table only at real ids (referenceEmbeddingBagGrad)`, async () => {
            const { dTable, problems, untouchedRows } = await bagGradScenario(c, mode);
            expect(problems).toEqual([]);
            for (const r of untouchedRows) expect(dTable[r]).toEqual([0, 0, 0]);
            if (c.paddingId !== null) {
              const pad = c.paddingId < 0 ? c.paddingId + dTable.length : c.paddingId;
              expect(untouchedRows).toContain(pad);
            }
          });
        }
      }

      for (const mode of ['mean', 'max'] as const) {
        it(`model.fit (EmbeddingBag ${mode} -> Dense) on the padded task: loss falls >= ${FIT_MIN_FACTOR}x, no NaN, no leak`, async () => {
          const r = await fitScenario('bag', 'masked', mode);
          onFit?.('bag', r.initialLoss / r.finalLoss, mode);
          expect(Number.isFinite(r.initialLoss)).toBe(true);
          expect(r.epochLosses.every(Number.isFinite)).toBe(true);
          expect(r.weightsFinite).toBe(true);
          expect(r.finalLoss).toBeLessThan(r.initialLoss / FIT_MIN_FACTOR);
          expect(r.tensorsAfterFit).toBe(r.tensorsBeforeFit);
        });
      }

      it('predict and a gradient leak no tensor', async () => {
        expect(await bagLeakScenario()).toEqual({ predict: 0, grad: 0 });
      });
    });

    defineSoftmaxLayerSuite(onSoftmaxFit);
  });
}
