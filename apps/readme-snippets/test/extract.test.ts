// The runner's own parsing, on hand-written inputs: a mistake here would let a README block
// escape the check or be checked as something it is not.
import { describe, expect, it } from 'vitest';
import {
  extractBlocks,
  importedPackages,
  installedBy,
  packageName,
  printExpectation,
  shellCommands,
} from '../src/extract.js';
import { runnableModule } from '../src/prepare.js';

describe('extractBlocks', () => {
  const md = [
    '# t', //1
    '```ts', //2
    "import x from 'a';", //3
    '```', //4
    '<!-- snippet: typecheck, needs a browser -->', //5
    '', //6
    '```typescript', //7
    'y();', //8
    '```', //9
    '<!-- snippet: skip, a signature -->', //10
    '````sh', //11
    '```', //12
    '````', //13
    '- item', //14
    '  ```js', //15
    '  const z = 1;', //16
    '  ```', //17
  ].join('\n');
  const blocks = extractBlocks('R.md', md);

  it('finds every fence with its line, language, body and marker', () => {
    expect(blocks.map((b) => [b.line, b.lang, b.mode, b.reason, b.code])).toEqual([
      [2, 'ts', 'run', '', "import x from 'a';"],
      [7, 'ts', 'typecheck', 'needs a browser', 'y();'],
      [11, 'sh', 'skip', 'a signature', '```'],
      [15, 'js', 'run', '', 'const z = 1;'],
    ]);
  });

  it('an unclosed fence is an error, not a silently dropped block', () => {
    expect(() => extractBlocks('R.md', '```ts\nx')).toThrow(/R.md:1: code fence is never closed/);
  });
});

describe('imports and installs', () => {
  it('collects the packages of static, side-effect, type, dynamic imports and re-exports', () => {
    const code = [
      "import * as tf from '@tensorflow/tfjs-core';",
      "import '@masked-ops/backend-cpu';",
      "import type { Tensor } from '@scope/types/sub/path';",
      "const m = await import('lodash/fp');",
      "export { a } from 'b';",
      "import { readFileSync } from 'node:fs';",
      "import local from './local.js';",
    ].join('\n');
    expect(importedPackages(code)).toEqual([
      '@masked-ops/backend-cpu',
      '@scope/types',
      '@tensorflow/tfjs-core',
      'b',
      'lodash',
    ]);
  });

  it('reads install lines of npm, pnpm and yarn, with versions and flags, and nothing else', () => {
    const cmds = shellCommands(
      [
        'npm i @a/b@^4 c -D   # comment @not/this',
        'npx -y pnpm@12.4.2 install --frozen-lockfile && npx -y pnpm@12.4.2 add d@1.2.3',
        'yarn add e; pnpm test',
      ].join('\n'),
    );
    expect(cmds.map((c) => installedBy(c))).toEqual([['@a/b', 'c'], null, ['d'], ['e'], null]);
    expect(packageName('@scope/x@latest')).toBe('@scope/x');
  });
});

describe('print claims', () => {
  it('reads the value a `.print()` comment claims, and nothing from other comments', () => {
    expect(printExpectation('maskedMean(x, m, 1).print(); // [[15, 15]], not [[10, 10]]')).toEqual({
      expr: 'maskedMean(x, m, 1)',
      expected: [[15, 15]],
    });
    expect(printExpectation('y.print(); // 1.5 = 3 / 2')).toEqual({ expr: 'y', expected: 1.5 });
    expect(printExpectation('y.print(); // [NaN, -Infinity]')!.expected).toEqual([NaN, -Infinity]);
    expect(printExpectation('y.print(); // the mean')).toBeNull();
    expect(printExpectation('y.print(); // 4 / 3: the mean of three')).toBeNull();
    expect(printExpectation('const y = f(); // [2, 3]')).toBeNull();
  });

  it('the instrumented module checks the claim (shape and float32 values)', () => {
    const js = runnableModule('t.print(); // [[1.5, NaN]]\nu();', 10);
    expect(js).toContain('await(globalThis).__snippetPrint(t, [[1.5, NaN]], 10);');
    expect(js).toContain('u();');
  });
});
