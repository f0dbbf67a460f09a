// The page's DeepFM section: trains DeepFM and logistic regression on the chosen backend through
// the same `demoApi.deepfm` the CLI calls, drawing each model's training loss per epoch as it goes,
// then the held-out AUCs (src/deepfm/report.ts's table).

import type { ModelKind } from '../deepfm/model.js';
import { deepfmMarkdown } from '../deepfm/report.js';
import { DEEPFM_DEFAULTS, type DeepFMRun, type EpochLog } from '../deepfm/train.js';
import { demoApi } from './api.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const LINES: Record<ModelKind, { color: string; label: string }> = {
  deepfm: { color: '#2e7d32', label: 'DeepFM' },
  lr: { color: '#c62828', label: 'logistic regression' },
};

/**
 * Training loss against epoch, one line per model, on a linear axis from the lowest to the highest
 * loss seen (the first epoch's losses sit well above the rest: the y axis starts near the lowest).
 * Redrawn after every epoch. `data-points` counts the points drawn (for the page test).
 */
export function drawLossCurve(
  losses: Partial<Record<ModelKind, EpochLog[]>>,
  epochs: number,
): void {
  const svg = $<HTMLElement>('deepfm-curve');
  const [left, top, width, height] = [60, 30, 540, 220];
  const all = Object.values(losses).flatMap((l) => l.map((e) => e.loss));
  if (all.length === 0) {
    svg.innerHTML = '';
    return;
  }
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  const pad = Math.max((hi - lo) * 0.08, 0.005);
  [lo, hi] = [lo - pad, hi + pad];
  const xOf = (epoch: number) => left + (width * (epoch - 1)) / Math.max(1, epochs - 1);
  const yOf = (loss: number) => top + (height * (hi - loss)) / (hi - lo);
  const parts: string[] = [
    `<line x1="${left}" y1="${top + height}" x2="${left + width}" y2="${top + height}" class="axis"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + height}" class="axis"/>`,
  ];
  for (let e = 1; e <= epochs; e++) {
    parts.push(`<text x="${xOf(e)}" y="${top + height + 16}" class="tick">${e}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(
      `<line x1="${left}" y1="${yOf(v)}" x2="${left + width}" y2="${yOf(v)}" class="grid"/>`,
      `<text x="${left - 6}" y="${yOf(v) + 4}" class="tick" style="text-anchor:end">${v.toFixed(3)}</text>`,
    );
  }
  parts.push(
    `<text x="${left + width / 2}" y="${top + height + 34}" class="tick">epoch</text>`,
    `<text x="8" y="${top - 12}" class="bar-label">training loss (sigmoid cross-entropy)</text>`,
  );
  let points = 0;
  for (const [i, [kind, log]] of Object.entries(losses).entries()) {
    const { color, label } = LINES[kind as ModelKind];
    const xy = log!.map((e) => `${xOf(e.epoch).toFixed(1)},${yOf(e.loss).toFixed(1)}`);
    points += xy.length;
    parts.push(
      `<polyline points="${xy.join(' ')}" class="line" stroke="${color}"><title>${label}</title></polyline>`,
      ...log!.map(
        (e) =>
          `<circle cx="${xOf(e.epoch).toFixed(1)}" cy="${yOf(e.loss).toFixed(1)}" r="3" fill="${color}"><title>${label}, epoch ${e.epoch}: ${e.loss.toFixed(4)}</title></circle>`,
      ),
      `<rect x="${left + width - 170}" y="${top + 6 + 16 * i}" width="12" height="12" fill="${color}"/>`,
      `<text x="${left + width - 154}" y="${top + 16 + 16 * i}" class="bar-label">${label}</text>`,
    );
  }
  svg.innerHTML = parts.join('');
  svg.dataset['points'] = String(points);
}

/** Renders a markdown table as HTML (the results table of src/deepfm/report.ts). */
const htmlTables = (markdown: string): string =>
  markdown
    .split('\n\n')
    .map((block) => {
      if (!block.startsWith('|')) return `<p class="note">${block}</p>`;
      const rows = block.split('\n').filter((_, i) => i !== 1);
      return `<table>${rows
        .map((r, i) => {
          const tag = i === 0 ? 'th' : 'td';
          return `<tr>${r
            .slice(2, -2)
            .split(' | ')
            .map((c) => `<${tag}>${c}</${tag}>`)
            .join('')}</tr>`;
        })
        .join('')}</table>`;
    })
    .join('');

/**
 * Trains on the form's backend. The status ends with `data-state`: `pass` when DeepFM's held-out
 * AUC beats the baseline's and nothing leaked, `fail` otherwise, `error` on an exception; the
 * status element carries both AUCs and the leak as data attributes.
 */
export async function runDeepFMSection(setBusy: (busy: boolean) => void): Promise<void> {
  const status = $<HTMLElement>('deepfm-status');
  delete status.dataset['state'];
  setBusy(true);
  const backend = $<HTMLSelectElement>('deepfm-backend').value;
  const epochs = Number($<HTMLInputElement>('deepfm-epochs').value);
  const train = Number($<HTMLInputElement>('deepfm-train').value);
  const batchSize = Number($<HTMLInputElement>('deepfm-batch').value);
  const losses: Partial<Record<ModelKind, EpochLog[]>> = {};
  $<HTMLElement>('deepfm-results').innerHTML = '';
  drawLossCurve(losses, epochs);
  try {
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error('epochs must be an integer >= 1');
    if (!Number.isInteger(train) || train < 1) {
      throw new Error('training impressions must be an integer >= 1');
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error('batch size must be an integer >= 1');
    }
    status.textContent = `training DeepFM on ${backend}...`;
    const options = { epochs, train, batchSize };
    const run: DeepFMRun = await demoApi.deepfm(backend, options, (kind, log) => {
      losses[kind] = [...(losses[kind] ?? []), log];
      drawLossCurve(losses, epochs);
      status.textContent = `training ${LINES[kind].label} on ${backend}: epoch ${log.epoch}/${epochs}, loss ${log.loss.toFixed(4)}`;
      if (kind === 'deepfm' && log.epoch === epochs) {
        status.textContent = `training logistic regression on ${backend}...`;
      }
    });
    $<HTMLElement>('deepfm-results').innerHTML = htmlTables(deepfmMarkdown([run]));
    const [deep, lr] = (['deepfm', 'lr'] as const).map(
      (k) => run.models.find((m) => m.kind === k)!,
    );
    const leak = Math.max(...run.models.map((m) => m.leak));
    const won = deep!.auc > lr!.auc;
    status.textContent = `done on ${backend}: held-out AUC DeepFM ${deep!.auc.toFixed(4)}, logistic regression ${lr!.auc.toFixed(4)} (the rule itself ${run.oracleAuc.toFixed(4)}); ${leak === 0 ? 'no tensor leaked across epochs' : `${leak} tensors leaked across epochs`}`;
    Object.assign(status.dataset, {
      aucDeepfm: String(deep!.auc),
      aucLr: String(lr!.auc),
      leak: String(leak),
      state: won && leak === 0 ? 'pass' : 'fail',
    });
  } catch (err) {
    status.textContent = `error: ${(err as Error).message}`;
    status.dataset['state'] = 'error';
  } finally {
    setBusy(false);
  }
}

/**
 * Wires the form, filled with the CLI's defaults (DEEPFM_DEFAULTS); `?deepfm=webgl` (with
 * `&deepfmEpochs=`, `&deepfmTrain=`, `&deepfmBatch=`) trains on load: returns whether to.
 */
export function setupDeepFMSection(
  query: URLSearchParams,
  setBusy: (busy: boolean) => void,
): boolean {
  $<HTMLFormElement>('deepfm-controls').addEventListener('submit', (e) => {
    e.preventDefault();
    void runDeepFMSection(setBusy);
  });
  const fields: [string, string, string][] = [
    ['deepfm', 'deepfm-backend', 'webgl'],
    ['deepfmEpochs', 'deepfm-epochs', String(DEEPFM_DEFAULTS.epochs)],
    ['deepfmTrain', 'deepfm-train', String(DEEPFM_DEFAULTS.train)],
    ['deepfmBatch', 'deepfm-batch', String(DEEPFM_DEFAULTS.batchSize)],
  ];
  for (const [param, id, fallback] of fields) {
    $<HTMLInputElement>(id).value = query.get(param) ?? fallback;
  }
  return query.get('deepfm') !== null;
}
