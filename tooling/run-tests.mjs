#!/usr/bin/env node
// `pnpm test`: format + lint (biome), then build, type-check and every package's tests (node and
// headless Chromium) through turbo, then one closing line `N passed, N failed, N skipped` summed
// from the vitest JSON reports. Fails on any failed step, failed or skipped test, or a package
// whose tests produced no report (a suite that did not run counts as failed, never as skipped).
//
// The tests run in two lanes, one per core: backend-webgl's suite (SwiftShader, about as long as
// all the others together) in one, every other package's in turn in the other. Left to turbo's
// own order, the webgl suite sometimes started after three others and ended minutes after them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const workspaces = ['packages', 'apps'].flatMap((dir) =>
  readdirSync(join(root, dir)).map((name) => join(root, dir, name)),
);
const tested = workspaces.filter((dir) => {
  const file = join(dir, 'package.json');
  return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).scripts?.test;
});
for (const dir of tested) rmSync(join(dir, '.vitest-reports'), { recursive: true, force: true });

const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
};
/** Runs the commands side by side; resolves to whether each exited 0. */
const runTogether = (commands) =>
  Promise.all(
    commands.map(
      ([cmd, args]) =>
        new Promise((resolve) => {
          console.log(`\n$ ${cmd} ${args.join(' ')}`);
          const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
          child.on('error', () => resolve(false));
          child.on('close', (code) => resolve(code === 0));
        }),
    ),
  );
const bin = (name) => join(root, 'node_modules', '.bin', name);
const LONG_SUITE = '@masked-ops/backend-webgl';
const tests = (filter) => [
  'run',
  'test',
  '--only',
  `--filter=${filter}`,
  '--concurrency=1',
  '--continue',
];
const steps = [
  run(bin('biome'), ['ci', '.']),
  run(bin('turbo'), ['run', 'build', 'typecheck', '--concurrency=2', '--continue']),
  // Builds are done: each lane runs test tasks only (--only), so neither rebuilds what the other
  // reads.
  ...(await runTogether([
    [bin('turbo'), tests(LONG_SUITE)],
    [bin('turbo'), tests(`!${LONG_SUITE}`)],
  ])),
];

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const dir of tested) {
  const reports = join(dir, '.vitest-reports');
  const files = existsSync(reports) ? readdirSync(reports).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) missing.push(dir.slice(root.length));
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(reports, f), 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
  }
}
if (missing.length) console.log(`\nno test report from: ${missing.join(', ')}`);
const ok = steps.every(Boolean) && failed === 0 && skipped === 0 && missing.length === 0;
console.log(`\n${passed} passed, ${failed + missing.length} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
