/**
 * Every fenced block of every README.md is one test: TS/JS blocks are type-checked against the
 * packages' real types and, unless marked `<!-- snippet: typecheck, why -->`, transpiled and run
 * in Node (a `.print(); // value` comment is checked against the printed tensor); sh blocks'
 * commands are checked against the repo (scripts, files, package names), and each README gets a
 * test that its install lines install every package its code imports plus those packages' peers.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Block,
  type Command,
  extractBlocks,
  findReadmes,
  importedPackages,
  installedBy,
  shellCommands,
  UMBRELLA,
} from '../src/extract.js';
import { printClaims, runnableModule, typecheck } from '../src/prepare.js';

const here = new URL('..', import.meta.url).pathname;
const root = join(here, '../..');
// Inside this package, so Node and tsc resolve imports through its node_modules: the workspace
// packages and the tfjs packages the lockfile pins, exactly one tfjs-core.
const work = join(here, '.snippets');

const readmes = findReadmes(root);
const blocks = readmes.flatMap((r) => extractBlocks(r, readFileSync(join(root, r), 'utf8')));
const code = (b: Block) => b.lang === 'ts' || b.lang === 'js';
const slug = (b: Block) => `${b.readme.replace(/[^\w]+/g, '_')}_L${b.line}`;
const sourceFile = (b: Block) => join(work, `${slug(b)}.${b.lang === 'ts' ? 'mts' : 'mjs'}`);

const packageJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const workspaceDirs = ['packages', 'apps'].flatMap((d) =>
  findReadmes(join(root, d)).map((r) => join(root, d, r.split('/')[0]!)),
);
const workspaces = new Map<string, { dir: string; pkg: Record<string, never> }>(
  workspaceDirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => [packageJson(dir).name, { dir, pkg: packageJson(dir) }]),
);

let diagnostics = new Map<string, string[]>();
beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const checked = blocks.filter((b) => code(b) && b.mode !== 'skip');
  for (const b of checked) writeFileSync(sourceFile(b), b.code);
  diagnostics = typecheck(checked.map(sourceFile));
}, 120_000);

afterAll(() => {
  const line = (b: Block) =>
    `  ${b.readme}:${b.line} ${b.lang} ${modeOf(b)}${b.mode === 'typecheck' ? `: ${b.reason}` : ''}`;
  console.log(`README snippets:\n${blocks.map(line).join('\n')}`);
  const skips = blocks.filter((b) => b.mode === 'skip');
  console.log(
    `skipped (${skips.length}):\n${skips.map((b) => `${line(b)}: ${b.reason}`).join('\n')}`,
  );
});

function modeOf(b: Block): string {
  if (b.mode === 'skip') return 'skip';
  if (b.lang === 'sh') return 'commands checked';
  return b.mode === 'run' ? 'type-checked + run in Node' : 'type-checked (browser)';
}

function runNode(file: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: work, timeout: 60_000 });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** What is wrong with one shell command, or null if the runner verified it. */
function checkCommand(readme: string, cmd: Command): string | null {
  const readmeDir = join(root, readme, '..');
  const [tool, ...args] = cmd.words;
  const installed = installedBy(cmd);
  if (installed) {
    const unknown = installed.filter((p) => p.startsWith('@masked-ops/') && !workspaces.has(p));
    return unknown.length ? `installs ${unknown.join(', ')}, which no workspace package is` : null;
  }
  if (tool === 'pnpm') {
    let target = root;
    let rest = args;
    if (rest[0] === '--filter' || rest[0] === '-F') {
      const ws = workspaces.get(rest[1]!);
      if (!ws) return `--filter ${rest[1]}: no workspace package has that name`;
      target = ws.dir;
      rest = rest.slice(2);
    }
    if (rest[0] === 'run') rest = rest.slice(1);
    const builtins = ['install', 'i', 'publish', 'pack', 'exec', 'dlx', 'changeset'];
    if (rest[0] === undefined || builtins.includes(rest[0])) return null;
    return packageJson(target).scripts?.[rest[0]] ? null : `no script "${rest[0]}" in ${target}`;
  }
  if (tool === 'node') {
    const file = args.find((a) => !a.startsWith('-'));
    if (!file) return null;
    return existsSync(join(readmeDir, file))
      ? null
      : `node ${file}: no such file next to ${readme}`;
  }
  if (tool === 'cp') {
    // Paths into node_modules are read as from a user's project: this package stands in for it.
    const missing = args
      .slice(0, -1)
      .filter((a) => a.startsWith('node_modules/') && matches(join(here, a)).length === 0);
    return missing.length ? `cp: nothing matches ${missing.join(', ')}` : null;
  }
  if (tool === 'cd') return existsSync(join(root, args[0]!)) ? null : `cd ${args[0]}: no such dir`;
  if (tool === 'vitest' || tool === 'tsc' || tool === 'biome' || tool === 'turbo') {
    return existsSync(join(root, 'node_modules/.bin', tool)) ? null : `${tool} is not installed`;
  }
  return `the runner cannot check \`${cmd.text}\`: teach it (test/readmes.test.ts) or mark the block <!-- snippet: skip, why -->`;
}

/** Files matching a path whose last segment may hold `*` wildcards. */
function matches(path: string): string[] {
  const dir = join(path, '..');
  const last = path.slice(dir.length + 1);
  if (!last.includes('*')) return existsSync(path) ? [path] : [];
  const re = new RegExp(`^${last.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)) : [];
}

/** Every `<package>/<path>.wasm` a block names (e.g. `?url` imports) must be a real file. */
function missingWasmFiles(code: string): string[] {
  const paths = [...code.matchAll(/['"]((?:@[\w.-]+\/)?[\w.-]+\/[\w./-]+\.wasm)(?:\?\w+)?['"]/g)];
  return paths.map((m) => m[1]!).filter((p) => !existsSync(join(here, 'node_modules', p)));
}

for (const readme of readmes) {
  const mine = blocks.filter((b) => b.readme === readme);
  describe(readme, () => {
    if (mine.length === 0) it('has no code blocks', () => expect(mine).toEqual([]));
    for (const b of mine) {
      const title = `line ${b.line} (${b.lang || 'no language'}): ${modeOf(b)}`;
      if (b.mode === 'skip') {
        it(`${title}: ${b.reason || '(no reason)'}`, () => {
          expect(b.reason, 'a skipped snippet must say why').toMatch(/\w{3,}/);
        });
      } else if (code(b)) {
        it(title, async () => {
          if (b.mode === 'typecheck') {
            expect(b.reason, 'a typecheck-only snippet must say why').toMatch(/\w{3,}/);
          }
          expect(diagnostics.get(sourceFile(b)) ?? ['not type-checked']).toEqual([]);
          expect(missingWasmFiles(b.code), 'named .wasm files that do not exist').toEqual([]);
          if (b.mode !== 'run') return;
          const file = join(work, `${slug(b)}.run.mjs`);
          writeFileSync(file, runnableModule(b.code, b.line + 1));
          const { status, output } = await runNode(file);
          expect(status, `node ${file} failed:\n${output}`).toBe(0);
          if (printClaims(b.code) > 0) expect(output).toContain('Tensor');
        }, 90_000);
      } else if (b.lang === 'sh') {
        it(title, () => {
          const problems = shellCommands(b.code)
            .map((c) => [c.text, checkCommand(readme, c)] as const)
            .filter(([, p]) => p !== null)
            .map(([t, p]) => `${t}: ${p}`);
          expect(problems).toEqual([]);
        });
      } else {
        it(title, () => {
          expect.fail(
            `a \`${b.lang || 'plain'}\` block: the runner checks ts, js and sh; mark it <!-- snippet: skip, why --> if it is not code`,
          );
        });
      }
    }

    const imports = [
      ...new Set(
        mine.filter((b) => code(b) && b.mode !== 'skip').flatMap((b) => importedPackages(b.code)),
      ),
    ];
    if (imports.length > 0) {
      it('install lines install every package the code imports, and their peers', () => {
        const installed = new Set(
          mine
            .filter((b) => b.lang === 'sh')
            .flatMap((b) => shellCommands(b.code).flatMap((c) => installedBy(c) ?? [])),
        );
        for (const p of [...installed]) for (const q of UMBRELLA[p] ?? []) installed.add(q);
        const peers = [...installed].flatMap((p) =>
          Object.keys(workspaces.get(p)?.pkg.peerDependencies ?? {}),
        );
        const missing = [...new Set([...imports, ...peers])].filter((p) => !installed.has(p));
        expect(missing, `${readme}: not installed by any of its install lines`).toEqual([]);
      });
    }
  });
}

describe('the runner', () => {
  it('finds every README.md that git tracks (none escapes the check)', async () => {
    const { execFileSync } = await import('node:child_process');
    const tracked = execFileSync('git', ['ls-files', '*README.md', 'README.md'], { cwd: root })
      .toString()
      .split('\n')
      .filter((f) => f && !f.includes('node_modules/'));
    expect(tracked.length).toBeGreaterThan(0);
    expect(readmes).toEqual(expect.arrayContaining(tracked));
  });
});
