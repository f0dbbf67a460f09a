// The DeepFM example (src/deepfm): the AUC against hand-computed values, the synthetic data and the
// model's parts against their definitions, and the claim of the example: trained on cpu and on wasm
// in Node, DeepFM beats logistic regression on held-out AUC by a wide margin (the interaction only
// DeepFM can learn), with no tensor leaked across epochs.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { auc } from '../src/deepfm/auc.js';
import {
  BAG_LEN,
  DEFAULT_RULE,
  encodeRows,
  FIELD_OFFSETS,
  FIELDS,
  generateClicks,
  makeRule,
  PADDING_ID,
  TABLE_ROWS,
} from '../src/deepfm/data.js';
import { createModel, fieldRows, fieldSum, fmInteraction } from '../src/deepfm/model.js';
import { aucGain, deepfmMarkdown } from '../src/deepfm/report.js';
import { DEEPFM_DEFAULTS, type DeepFMRun, logLoss, runDeepFM } from '../src/deepfm/train.js';
import { useNodeBackend } from '../src/node/backends.js';
import { DEEPFM_USAGE_DEFAULTS } from '../src/node/usage.js';

/** The AUC by its definition: over every (positive, negative) pair, 1 if ordered, 1/2 if tied. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    for (let j = 0; j < scores.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('auc', () => {
  it('matches hand-computed values', () => {
    // Positives 0.35 and 0.8; negatives 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both: 3/4.
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(auc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(auc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
    // Ties count one half: positives 2 and 3, negatives 1 and 2: (1 + 0.5 + 1 + 1) / 4.
    expect(auc([1, 2, 2, 3], [0, 0, 1, 1])).toBe(0.875);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // One positive ranked second of five: it beats 3 of the 4 negatives.
    expect(auc([0.9, 0.8, 0.3, 0.2, 0.1], [0, 1, 0, 0, 0])).toBe(0.75);
    // Scores need not be probabilities (logits, any order of magnitude); typed arrays work.
    expect(auc(Float32Array.from([-30, 5, 1e6]), Float32Array.from([0, 1, 1]))).toBe(1);
  });

  it('equals the pairwise definition on random scores with many ties', () => {
    let seed = 5;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + Math.floor(rand() * 60);
      const scores = Array.from({ length: n }, () => Math.floor(rand() * 7) / 2);
      const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i : rand() < 0.4 ? 1 : 0));
      expect(auc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
    }
  });

  it('refuses what has no AUC', () => {
    expect(() => auc([1, 2], [1, 1])).toThrow(
      'auc: needs both classes, got 2 positives and 0 negatives',
    );
    expect(() => auc([1, 2], [0, 0])).toThrow(/needs both classes/);
    expect(() => auc([1, 2, 3], [0, 1])).toThrow('auc: 3 scores but 2 labels');
    expect(() => auc([1, 2], [0, 2])).toThrow('auc: labels[1] = 2, expected 0 or 1');
    expect(() => auc([Number.NaN, 2], [0, 1])).toThrow('auc: scores[0] is NaN');
  });
});

describe('logLoss', () => {
  it('is the mean sigmoid cross-entropy of logits, stable at large |logit|', () => {
    // -log(sigmoid(0)) = log 2 for either label; -log(sigmoid(2)) = log(1 + e^-2).
    expect(logLoss([0, 0], [1, 0])).toBeCloseTo(Math.LN2, 12);
    expect(logLoss([2], [1])).toBeCloseTo(Math.log1p(Math.exp(-2)), 12);
    expect(logLoss([2], [0])).toBeCloseTo(2 + Math.log1p(Math.exp(-2)), 12);
    expect(logLoss([1000, -1000], [1, 0])).toBe(0);
    expect(logLoss([-1000], [1])).toBe(1000);
  });
});

describe('the synthetic click log', () => {
  const rule = makeRule();
  const data = generateClicks(rule, 2000, 1);

  it('is the same for the same seeds, and different for another', () => {
    const again = generateClicks(makeRule(), 2000, 1);
    expect(again.ids).toEqual(data.ids);
    expect(again.labels).toEqual(data.labels);
    expect(generateClicks(rule, 2000, 2).labels).not.toEqual(data.labels);
    expect(makeRule({ ...DEFAULT_RULE, seed: 14 }).effects).not.toEqual(rule.effects);
  });

  it('has bags of 1 to maxLen distinct real ids, then padding; single fields in range', () => {
    let padding = 0;
    let slots = 0;
    for (const [fi, f] of FIELDS.entries()) {
      const ids = data.ids[fi]!;
      expect(ids.length).toBe(data.n * f.maxLen);
      for (let s = 0; s < data.n; s++) {
        const bag = Array.from(ids.subarray(s * f.maxLen, (s + 1) * f.maxLen));
        for (const id of bag) expect(id >= 0 && id < f.vocab).toBe(true);
        if (f.maxLen === 1) continue;
        const len = bag.indexOf(PADDING_ID) < 0 ? f.maxLen : bag.indexOf(PADDING_ID);
        expect(len).toBeGreaterThanOrEqual(1);
        expect(bag.slice(len).every((id) => id === PADDING_ID)).toBe(true);
        expect(new Set(bag.slice(0, len)).size).toBe(len);
        padding += f.maxLen - len;
        slots += f.maxLen;
      }
    }
    // Lengths uniform in 1..maxLen: (maxLen - 1) / (2 maxLen) padding, 42% (6) and 38% (4).
    expect(padding / slots).toBeGreaterThan(0.35);
    expect(padding / slots).toBeLessThan(0.45);
    const rate = data.labels.reduce((a, l) => a + l, 0) / data.n;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.5);
  });

  it("centres the tastes, so the interaction averages out of every id's first-order effect", () => {
    const { rank } = rule.options;
    const column = (t: Float64Array, first: number, k: number) => {
      let s = 0;
      for (let i = first; i < t.length / rank; i++) s += t[i * rank + k]!;
      return s;
    };
    for (let k = 0; k < rank; k++) {
      expect(Math.abs(column(rule.p, 1, k))).toBeLessThan(1e-9);
      expect(Math.abs(column(rule.q, 0, k))).toBeLessThan(1e-9);
    }
    // The padding id has no effect and no taste.
    const interests = FIELDS.findIndex((f) => f.name === 'interests');
    expect(rule.effects[interests]![PADDING_ID]).toBe(0);
    expect(Array.from(rule.p.subarray(0, rank))).toEqual(new Array(rank).fill(0));
  });

  it('encodes one padded bag per (impression, field) into the shared table', () => {
    expect(BAG_LEN).toBe(6);
    expect(TABLE_ROWS).toBe(1 + FIELDS.reduce((a, f) => a + f.vocab, 0));
    const rows = encodeRows(data, [3, 0], 0, 2);
    expect(rows.n).toBe(2);
    expect(rows.ids.length).toBe(2 * FIELDS.length * BAG_LEN);
    expect(Array.from(rows.labels)).toEqual([data.labels[3], data.labels[0]]);
    for (const [r, s] of [3, 0].entries()) {
      for (const [fi, f] of FIELDS.entries()) {
        const bag = Array.from(
          rows.ids.subarray(
            (r * FIELDS.length + fi) * BAG_LEN,
            (r * FIELDS.length + fi + 1) * BAG_LEN,
          ),
        );
        const local = Array.from(data.ids[fi]!.subarray(s * f.maxLen, (s + 1) * f.maxLen));
        const expected = local.map((id) =>
          f.maxLen > 1 && id === PADDING_ID ? 0 : FIELD_OFFSETS[fi]! + id,
        );
        expect(bag).toEqual([...expected, ...new Array(BAG_LEN - f.maxLen).fill(0)]);
      }
    }
  });
});

describe('the model on cpu', () => {
  it('pools each field by the mean of its real ids, and FM sums the pairwise dot products', async () => {
    await useNodeBackend('cpu');
    const before = tf.memory().numTensors;
    const k = 3;
    const table = tf.tensor2d(
      Array.from({ length: TABLE_ROWS * k }, (_, i) => Math.sin(i)),
      [TABLE_ROWS, k],
    );
    const rows = encodeRows(generateClicks(makeRule(), 4, 3), null, 0, 4);
    const ids = tf.tensor2d(rows.ids, [4 * FIELDS.length, BAG_LEN], 'int32');
    const pooled = fieldRows(table, ids);
    expect(pooled.shape).toEqual([4, FIELDS.length * k]);
    const t = await table.array();
    const e = await pooled.array();
    for (let b = 0; b < 4; b++) {
      for (let f = 0; f < FIELDS.length; f++) {
        const bag = Array.from(rows.ids.subarray((b * FIELDS.length + f) * BAG_LEN)).slice(
          0,
          BAG_LEN,
        );
        const real = bag.filter((id) => id !== PADDING_ID);
        for (let c = 0; c < k; c++) {
          const mean = real.reduce((a, id) => a + t[id]![c]!, 0) / real.length;
          expect(e[b]![f * k + c]).toBeCloseTo(mean, 5);
        }
      }
    }
    // FM: the sum over field pairs f < g of <e_f, e_g>, computed directly.
    const stack = fieldSum(FIELDS.length, k);
    const fmTensor = fmInteraction(pooled, stack);
    const fm = await fmTensor.array();
    for (let b = 0; b < 4; b++) {
      let direct = 0;
      for (let f = 0; f < FIELDS.length; f++) {
        for (let g = f + 1; g < FIELDS.length; g++) {
          for (let c = 0; c < k; c++) direct += e[b]![f * k + c]! * e[b]![g * k + c]!;
        }
      }
      expect(fm[b]).toBeCloseTo(direct, 4);
    }
    tf.dispose([table, ids, pooled, stack, fmTensor]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('logistic regression has only the first order; DeepFM adds the embeddings and the MLP', async () => {
    await useNodeBackend('cpu');
    const before = tf.memory().numTensors;
    const lr = createModel({ kind: 'lr', embeddingDim: 8, hidden: [32, 16], seed: 1 });
    const deep = createModel({ kind: 'deepfm', embeddingDim: 8, hidden: [32, 16], seed: 1 });
    expect(lr.variables.map((v) => v.shape)).toEqual([[1], [TABLE_ROWS, 1]]);
    const F = FIELDS.length;
    expect(deep.variables.map((v) => v.shape)).toEqual([
      [1],
      [TABLE_ROWS, 1],
      [TABLE_ROWS, 8],
      [F * 8, 32],
      [32],
      [32, 16],
      [16],
      [16, 1],
      [1],
    ]);
    // Seeded: a second model of the same seed starts from the same values.
    const twin = createModel({ kind: 'deepfm', embeddingDim: 8, hidden: [32, 16], seed: 1 });
    expect(await twin.variables[2]!.data()).toEqual(await deep.variables[2]!.data());
    // At the start (zero first-order weights) LR's logits are all 0.
    const rows = encodeRows(generateClicks(makeRule(), 8, 3), null, 0, 8);
    const ids = tf.tensor2d(rows.ids, [8 * F, BAG_LEN], 'int32');
    const z = lr.logits(ids);
    expect(Array.from(await z.data())).toEqual(new Array(8).fill(0));
    tf.dispose([ids, z]);
    for (const m of [lr, deep, twin]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the usage text', () => {
  it('states the defaults the CLI runs', () => {
    const { epochs, train, test, batchSize, dataSeed } = DEEPFM_DEFAULTS;
    expect(DEEPFM_USAGE_DEFAULTS).toEqual({ epochs, train, test, batchSize, seed: dataSeed });
  });
});

// The example's claim, on the CLI's defaults (seeded data and initial values): a margin of 0.1 in
// held-out AUC, where the runs give about 0.16 (DeepFM about 0.86, logistic regression about 0.70).
const runs: Record<string, DeepFMRun> = {};
for (const backend of ['cpu', 'wasm']) {
  describe(`training on ${backend}`, () => {
    it('DeepFM beats logistic regression on held-out AUC, with no tensor leaked across epochs', async () => {
      await useNodeBackend(backend);
      const run = await runDeepFM();
      runs[backend] = run;
      const [deep, lr] = run.models;
      expect([deep!.kind, lr!.kind]).toEqual(['deepfm', 'lr']);
      expect(run.kernel).toBe('fused');
      expect(deep!.auc - lr!.auc).toBeGreaterThan(0.1);
      expect(aucGain(run)).toBe(deep!.auc - lr!.auc);
      expect(deep!.auc).toBeGreaterThan(0.8);
      // The baseline learned the first-order effects (chance is 0.5), and nobody beats the rule.
      expect(lr!.auc).toBeGreaterThan(0.65);
      expect(deep!.auc).toBeLessThan(run.oracleAuc);
      expect(deep!.logLoss).toBeLessThan(lr!.logLoss);
      for (const m of run.models) {
        expect(m.epochs).toHaveLength(DEEPFM_DEFAULTS.epochs);
        expect(m.leak).toBe(0);
        expect(new Set(m.epochs.map((e) => e.numTensors)).size).toBe(1);
        expect(m.epochs.at(-1)!.loss).toBeLessThan(m.epochs[0]!.loss);
      }
      expect(run.tensorsAfter).toBe(run.tensorsBefore);
    });
  });
}

describe('cpu and wasm', () => {
  it('train the same models (seeded): AUCs agree to 0.005, and the report lists both', () => {
    const [cpu, wasm] = [runs['cpu'], runs['wasm']];
    if (!cpu || !wasm) throw new Error('the training tests did not run');
    for (const i of [0, 1]) {
      expect(Math.abs(cpu.models[i]!.auc - wasm.models[i]!.auc)).toBeLessThan(0.005);
    }
    const md = deepfmMarkdown([cpu, wasm]);
    expect(md).toContain('| cpu | fused |');
    expect(md).toContain('| wasm | DeepFM |');
    expect(md).toContain(`epoch ${DEEPFM_DEFAULTS.epochs} |`);
  });
});
