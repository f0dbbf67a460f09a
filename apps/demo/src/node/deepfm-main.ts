// `pnpm --filter demo deepfm` (after deepfm-cli.ts): DeepFM vs logistic regression on the synthetic
// click log, per backend (Node backends in this process, browser backends in the demo page). Prints
// each epoch's loss and both models' held-out AUC; writes deepfm.json and deepfm.md. Exits 1 if
// tensors leaked across epochs.

import { aucGain, deepfmMarkdown } from '../deepfm/report.js';
import { DEEPFM_DEFAULTS, type DeepFMOptions, type DeepFMRun, runDeepFM } from '../deepfm/train.js';
import { environmentMarkdown } from '../report.js';
import { parseDeepFMCli, UsageError } from './args.js';
import { useNodeBackend } from './backends.js';
import { openDemoPage } from './browser.js';
import { log, nodeEnvironment, writeReport } from './run.js';

const describe = (r: DeepFMRun): string =>
  `${r.backend}: ${r.models.map((m) => `${m.kind} AUC ${m.auc.toFixed(4)} (log loss ${m.logLoss.toFixed(4)}, ${m.seconds.toFixed(1)} s, leak ${m.leak})`).join(', ')}; DeepFM - LR ${aucGain(r).toFixed(4)}; rule's AUC ${r.oracleAuc.toFixed(4)}; bag kernels ${r.kernel}`;

async function main(): Promise<number> {
  const opts = parseDeepFMCli(process.argv.slice(2));
  const env = nodeEnvironment();
  const options: DeepFMOptions = {
    ...DEEPFM_DEFAULTS,
    epochs: opts.epochs,
    train: opts.train,
    test: opts.test,
    batchSize: opts.batchSize,
    dataSeed: opts.seed,
  };
  const runs: DeepFMRun[] = [];
  for (const name of opts.backends.filter((b) => b.startsWith('node:'))) {
    const pluginError = await useNodeBackend(name.slice('node:'.length));
    if (pluginError) log(`WARNING: the ${name} plugin failed to load (${pluginError})`);
    log(`${name}: training on ${options.train} impressions, ${options.epochs} epoch(s)...`);
    const run = await runDeepFM(options, (kind, e) =>
      log(
        `${name} ${kind} epoch ${e.epoch}/${options.epochs}: loss ${e.loss.toFixed(4)} (${(e.ms / 1000).toFixed(1)} s, ${e.numTensors} tensors)`,
      ),
    );
    run.backend = name;
    log(describe(run));
    runs.push(run);
  }
  const inBrowser = opts.backends.filter((b) => b.startsWith('chromium:'));
  if (inBrowser.length) {
    log('starting headless Chromium with the demo page...');
    const page = await openDemoPage(log);
    try {
      env.browser = (await page.call('environment')).userAgent;
      for (const name of inBrowser) {
        log(`${name}: training (the page reports when done)...`);
        const run = await page.call('deepfm', name.slice('chromium:'.length), options);
        run.backend = name;
        for (const m of run.models) {
          log(`${name} ${m.kind} losses: ${m.epochs.map((e) => e.loss.toFixed(4)).join(', ')}`);
        }
        log(describe(run));
        runs.push(run);
      }
    } finally {
      await page.close();
    }
  }
  const leaks = runs.filter((r) => r.models.some((m) => m.leak !== 0));
  env.notes?.push(
    `${options.train} training and ${options.test} held-out impressions (seed ${options.dataSeed}; rule seed ${options.rule.seed}), ${options.epochs} epoch(s) of Adam (learning rate ${options.learningRate}, batch ${options.batchSize}); DeepFM: embeddings of ${options.embeddingDim}, MLP ${options.hidden.join('-')}-1`,
    "rule's AUC: the generating rule's own logits on the held-out impressions (the best any model can do); tensors leaked per epoch: change of tf.memory().numTensors from the end of epoch 1 to the end of any later epoch (DeepFM / LR)",
  );
  const markdown = [
    '# DeepFM vs logistic regression on a synthetic click log',
    environmentMarkdown(env),
    deepfmMarkdown(runs),
    '',
  ].join('\n\n');
  console.log(`\n${markdown}`);
  const files = writeReport(opts.out, 'deepfm', { environment: env, runs }, markdown);
  log(`wrote ${files.join(', ')}`);
  if (leaks.length) {
    console.error(`tensors leaked across epochs on ${leaks.map((r) => r.backend).join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(--help lists the options)`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
