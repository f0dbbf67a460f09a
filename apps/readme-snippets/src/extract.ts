/**
 * Finds every README.md of the repository and splits it into fenced code blocks, each with the
 * mode its `<!-- snippet: ... -->` marker asks for. Pure functions over strings and the file
 * tree, so the runner's own logic is unit-tested (test/extract.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** `run`: transpile and run in Node; `typecheck`: tsc only (needs a browser); `skip`: neither. */
export type Mode = 'run' | 'typecheck' | 'skip';

export interface Block {
  /** README path relative to the repo root, '/'-separated. */
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Normalised language: 'ts', 'js', 'sh', or the fence's own word ('' if none). */
  lang: string;
  code: string;
  mode: Mode;
  /** Why a block is type-checked only or skipped (required for those modes). */
  reason: string;
}

/** Directories never searched: dependencies, build output, tool state. */
const PRUNED = new Set([
  'node_modules',
  '.git',
  'dist',
  'dist-web',
  'build',
  '.turbo',
  'coverage',
  'reports',
  'test-results',
  '.snippets',
  '.vitest-reports',
]);

/** Every README.md under root (any case), sorted, so a new package's README is checked too. */
export function findReadmes(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!PRUNED.has(entry.name)) walk(join(dir, entry.name));
      } else if (/^readme\.md$/i.test(entry.name)) {
        found.push(relative(root, join(dir, entry.name)).split('\\').join('/'));
      }
    }
  };
  walk(root);
  return found.sort();
}

const LANGS: Record<string, string> = {
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
};

const MARKER = /^<!--\s*snippet:\s*(run|typecheck|skip)\s*(?:,\s*(.*?))?\s*-->$/;

/** The fenced blocks of one README, with the marker on the last non-blank line before each. */
export function extractBlocks(readme: string, text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const [, indent, fence, word] = open as unknown as [string, string, string, string];
    const start = i;
    const body: string[] = [];
    i++;
    while (i < lines.length && !isClosing(lines[i]!, fence)) {
      const l = lines[i]!;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
      i++;
    }
    if (i >= lines.length) throw new Error(`${readme}:${start + 1}: code fence is never closed`);
    i++;
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? MARKER.exec(lines[before]!.trim()) : null;
    const mode = (marker?.[1] ?? 'run') as Mode;
    blocks.push({
      readme,
      line: start + 1,
      lang: LANGS[word.toLowerCase()] ?? word.toLowerCase(),
      code: body.join('\n'),
      mode,
      reason: marker?.[2] ?? '',
    });
  }
  return blocks;
}

function isClosing(line: string, fence: string): boolean {
  const t = line.trim();
  return t.length >= fence.length && t[0] === fence[0] && /^(`+|~+)$/.test(t);
}

/** The package a bare import specifier names (`@scope/name/sub` -> `@scope/name`); null if relative or builtin. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) {
    return null;
  }
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The packages a TS/JS block imports (static, side-effect and dynamic imports, re-exports). */
export function importedPackages(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bexport\s+[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) {
      const pkg = packageOf(m[1]!);
      if (pkg) found.add(pkg);
    }
  }
  return [...found].sort();
}

/** One shell command of a block: its words, with `npx -y pnpm@x` read as `pnpm`. */
export interface Command {
  text: string;
  words: string[];
}

/** The commands of a sh block: comments dropped, split on `&&`, `||` and `;`. */
export function shellCommands(code: string): Command[] {
  const commands: Command[] = [];
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    for (const part of line.replace(/^\$\s+/, '').split(/&&|\|\||;/)) {
      const text = part.trim();
      if (text === '') continue;
      let words = text.split(/\s+/);
      if (words[0] === 'npx' && words[1] === '-y') words = words.slice(2);
      if (words[0] === 'npx' && words.length > 1) words = words.slice(1);
      if (/^pnpm@/.test(words[0]!)) words = ['pnpm', ...words.slice(1)];
      commands.push({ text, words });
    }
  }
  return commands;
}

/** Strips a version or tag from an install argument (`@scope/name@^4` -> `@scope/name`). */
export function packageName(arg: string): string {
  const at = arg.indexOf('@', 1);
  return at === -1 ? arg : arg.slice(0, at);
}

/**
 * The packages an install command installs (`npm i|install|add`, `pnpm add|i|install`,
 * `yarn add`), or null if the command is not a package install (`pnpm install` alone installs
 * the repo's own lockfile).
 */
export function installedBy(cmd: Command): string[] | null {
  const [tool, sub, ...rest] = cmd.words;
  const verbs: Record<string, string[]> = {
    npm: ['i', 'install', 'add'],
    pnpm: ['i', 'install', 'add'],
    yarn: ['add'],
  };
  if (tool === undefined || sub === undefined || !verbs[tool]?.includes(sub)) return null;
  const names = rest.filter((w) => !w.startsWith('-')).map(packageName);
  return names.length > 0 ? names : null;
}

/** tfjs's umbrella package: installing it provides these packages too. */
export const UMBRELLA: Record<string, string[]> = {
  '@tensorflow/tfjs': [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-converter',
    '@tensorflow/tfjs-data',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-webgl',
  ],
};

/**
 * A `.print()` whose line ends in a comment holding the printed value (`y.print(); // [[15, 15]]`):
 * the expression and the expected nested array or number, or null for any other line.
 */
export function printExpectation(line: string): { expr: string; expected: unknown } | null {
  const m = /^(\s*)(.+?)\.print\(\);\s*\/\/\s*(.*)$/.exec(line);
  if (!m) return null;
  const literal = leadingLiteral(m[3]!);
  if (literal === null) return null;
  const json = literal.replace(/-?Infinity|NaN/g, (s) => `"${s}"`);
  const revive = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(revive) : typeof v === 'string' ? Number(v) : v;
  return { expr: m[2]!, expected: revive(JSON.parse(json)) };
}

/** The balanced `[...]` or the number at the start of a comment, else null. */
function leadingLiteral(comment: string): string | null {
  // A number followed by arithmetic (`4 / 3: the mean`) is prose about a value, not the value.
  const num = /^-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|Infinity|NaN)(?![\w.])(?!\s*[-+*/^%])/.exec(
    comment,
  );
  if (num) return num[0];
  if (!comment.startsWith('[')) return null;
  let depth = 0;
  for (let i = 0; i < comment.length; i++) {
    if (comment[i] === '[') depth++;
    if (comment[i] === ']' && --depth === 0) return comment.slice(0, i + 1);
  }
  return null;
}
