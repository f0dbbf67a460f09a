#!/usr/bin/env node
// `pnpm release`, after the build and before `pnpm publish -r --dry-run`: what would be published.
// Each public package under packages/ is packed with pnpm into a temporary directory (the packing
// publish does: `files` applied, `workspace:` ranges rewritten) and the tarball is read back: every
// file with its size, the unpacked total and the tarball size. Nothing is published. Exits non-zero
// when a tarball still has a `workspace:` range or lacks a file its manifest points at (main, types,
// module, every exports target).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;

/** pnpm itself (it rewrites `workspace:` ranges when packing): the one running us, or npx's. */
function pnpm(args, cwd) {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: pnpm sets it for the script it runs; no turbo task reads it
  const exec = process.env['npm_execpath'];
  if (exec?.includes('pnpm')) {
    // pnpm 12 ships as a native executable; older ones as a JS entry point.
    const viaNode = /\.[cm]?js$/.test(exec);
    return execFileSync(viaNode ? process.execPath : exec, viaNode ? [exec, ...args] : args, {
      cwd,
      encoding: 'utf8',
    });
  }
  return execFileSync('npx', ['-y', 'pnpm@12.4.2', ...args], { cwd, encoding: 'utf8' });
}

/** The regular files of a .tgz: path (without the leading `package/`), size and contents. */
function tarFiles(tgz) {
  const tar = gunzipSync(readFileSync(tgz));
  const files = [];
  let longPath = null;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from, to) => header.subarray(from, to).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === 'x') {
      // A pax header: `<len> path=<name>\n` records; a long path travels this way.
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longPath = m[1];
    } else if (type === 'L') {
      longPath = body.toString('utf8').replace(/\0.*$/s, '');
    } else {
      const prefix = field(345, 500);
      const path = longPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      longPath = null;
      if (type === '0') files.push({ path: path.replace(/^package\//, ''), size, body });
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

/** Every file a manifest points at: main, types, module and each exports target. */
function manifestTargets(manifest) {
  const targets = [manifest.main, manifest.types, manifest.module];
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  return targets.filter((t) => typeof t === 'string').map((t) => t.replace(/^\.\//, ''));
}

const packages = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private)
  .sort();

const work = mkdtempSync(join(tmpdir(), 'masked-ops-release-'));
const summary = [];
const problems = [];
try {
  for (const dir of packages) {
    const dest = join(work, String(summary.length));
    pnpm(['pack', '--pack-destination', dest], dir);
    const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
    const files = tarFiles(join(dest, tgz));
    const manifestFile = files.find((f) => f.path === 'package.json');
    const manifest = JSON.parse(manifestFile.body.toString('utf8'));
    const id = `${manifest.name}@${manifest.version}`;
    const unpacked = files.reduce((sum, f) => sum + f.size, 0);
    const packed = statSync(join(dest, tgz)).size;

    console.log(`\n${id}  (${dir.slice(root.length)}, would publish ${tgz})`);
    for (const f of files) console.log(`${kB(f.size).padStart(10)}  ${f.path}`);
    console.log(`  ${files.length} files, ${kB(unpacked)} unpacked, ${kB(packed)} tarball`);

    if (manifestFile.body.includes('workspace:')) {
      problems.push(`${id}: package.json still has a workspace: range`);
    }
    const paths = new Set(files.map((f) => f.path));
    for (const target of manifestTargets(manifest)) {
      if (!paths.has(target)) problems.push(`${id}: package.json points at ${target}, not packed`);
    }
    summary.push({ id, files: files.length, unpacked, packed });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const width = Math.max(...summary.map((s) => s.id.length));
console.log(`\n${'package'.padEnd(width)}  files   unpacked    tarball`);
for (const s of summary) {
  console.log(
    `${s.id.padEnd(width)}  ${String(s.files).padStart(5)}  ${kB(s.unpacked).padStart(9)}  ${kB(s.packed).padStart(9)}`,
  );
}
if (problems.length > 0) {
  console.error(`\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('\nNext: `pnpm publish -r --dry-run` (what pnpm itself reports; nothing is uploaded).');
