#!/usr/bin/env node
// `pnpm test`: format + lint (biome), then build, type-check and every package's tests (node and
// headless Chromium) through turbo, then one closing line `N passed, N failed, N skipped` summed
// from the vitest JSON reports. Fails on any failed step, failed or skipped test, or a package
// whose tests produced no report (a suite that did not run counts as failed, never as skipped).
//
// Builds and type-checks come first; then the packages' test tasks run two at a time (one per
// core), longest first: backend-webgl's suite (SwiftShader) is about as long as all the others
// together, and left to turbo's own order it sometimes started after three others and ended
// minutes after them.
import { spawn } from 'node:child_process';
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

/** Runs a command with the terminal's output; resolves to whether it exited 0. */
const run = (cmd, args) =>
  new Promise((resolve) => {
    console.log(`\n$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
const bin = (name) => join(root, 'node_modules', '.bin', name);

/**
 * Test suites by how long they take on a 2-core machine, longest first (a package not listed
 * runs after these); two run at a time, each taking the next when it ends.
 */
const LONGEST_FIRST = [
  '@masked-ops/backend-webgl',
  'demo',
  '@masked-ops/core',
  '@masked-ops/backend-webgpu',
  '@masked-ops/backend-wasm',
  '@masked-ops/layers',
  'consumer-smoke',
  '@masked-ops/backend-cpu',
  'readme-snippets',
];
const rank = (name) => {
  const i = LONGEST_FIRST.indexOf(name);
  return i < 0 ? LONGEST_FIRST.length : i;
};
const queue = tested
  .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name)
  .sort((a, b) => rank(a) - rank(b));
/** Takes suites off the queue one by one; resolves to whether each passed. */
async function lane() {
  const results = [];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    // --only: the test task alone, its builds are done (and the other lane may be reading them).
    results.push(await run(bin('turbo'), ['run', 'test', '--only', `--filter=${name}`]));
  }
  return results;
}

const steps = [
  await run(bin('biome'), ['ci', '.']),
  await run(bin('turbo'), ['run', 'build', 'typecheck', '--concurrency=2', '--continue']),
  ...(await Promise.all([lane(), lane()])).flat(),
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
