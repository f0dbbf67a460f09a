import type { DeepFMRun, ModelResult } from './train.js';

const MODEL_NAMES = { deepfm: 'DeepFM', lr: 'logistic regression' } as const;

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const modelOf = (run: DeepFMRun, kind: ModelResult['kind']) =>
  run.models.find((m) => m.kind === kind);

/** Held-out AUC of DeepFM minus the baseline's (NaN when either was not trained). */
export const aucGain = (run: DeepFMRun): number =>
  (modelOf(run, 'deepfm')?.auc ?? Number.NaN) - (modelOf(run, 'lr')?.auc ?? Number.NaN);

/**
 * The results of one or more backends: held-out AUC and log loss of both models, the rule's own AUC
 * (the ceiling), the tensor leak across epochs and the time; then each model's training loss per
 * epoch.
 */
export function deepfmMarkdown(runs: DeepFMRun[]): string {
  const f = (n: number | undefined, digits = 4) =>
    n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
  const summary = table(
    [
      'backend',
      'bag kernels',
      'DeepFM AUC',
      'LR AUC',
      'DeepFM - LR',
      "rule's AUC",
      'DeepFM log loss',
      'LR log loss',
      'tensors leaked per epoch',
      'DeepFM s',
      'LR s',
    ],
    runs.map((r) => {
      const [deep, lr] = [modelOf(r, 'deepfm'), modelOf(r, 'lr')];
      return [
        r.backend,
        r.kernel,
        f(deep?.auc),
        f(lr?.auc),
        f(aucGain(r)),
        f(r.oracleAuc),
        f(deep?.logLoss),
        f(lr?.logLoss),
        r.models.map((m) => m.leak).join(' / '),
        f(deep?.seconds, 1),
        f(lr?.seconds, 1),
      ];
    }),
  );
  const epochs = Math.max(0, ...runs.flatMap((r) => r.models.map((m) => m.epochs.length)));
  const losses = table(
    ['backend', 'model', ...Array.from({ length: epochs }, (_, i) => `epoch ${i + 1}`)],
    runs.flatMap((r) =>
      r.models.map((m) => [
        r.backend,
        MODEL_NAMES[m.kind],
        ...Array.from({ length: epochs }, (_, i) => f(m.epochs[i]?.loss)),
      ]),
    ),
  );
  return `${summary}\n\nTraining loss (sigmoid cross-entropy, mean over each epoch's mini-batches):\n\n${losses}`;
}
