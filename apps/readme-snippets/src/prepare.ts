/**
 * Turns a README block into files the checks use: the block as written (type-checked) and, for
 * `run` blocks, an instrumented copy transpiled to ESM with the repo's TypeScript (run by Node).
 */
import ts from 'typescript';
import { printExpectation } from './extract.js';

/**
 * Prepended to every run: `y.print(); // [[15, 15]]` in a README is a claim about the output, so
 * the instrumented line prints as written and then fails the run unless the tensor has the
 * commented shape and exactly those float32 values (NaN matching NaN).
 */
const CHECK_PRINT = `
globalThis.__snippetPrint = async (tensor, expected, line) => {
  tensor.print();
  const shape = [];
  for (let v = expected; Array.isArray(v); v = v[0]) shape.push(v.length);
  const want = [expected].flat(Infinity);
  const got = Array.from(await tensor.data());
  const same = JSON.stringify(shape) === JSON.stringify(tensor.shape) && want.length === got.length &&
    want.every((w, i) => (Number.isNaN(w) ? Number.isNaN(got[i]) : Math.fround(w) === got[i]));
  if (!same) {
    throw new Error('README line ' + line + ': printed shape ' + JSON.stringify(tensor.shape) +
      ' values ' + JSON.stringify(got) + ', but the comment says ' + JSON.stringify(expected));
  }
};
`;

/** The number of `.print(); // value` claims a block makes (each is checked when it runs). */
export function printClaims(code: string): number {
  return code.split('\n').filter((l) => printExpectation(l) !== null).length;
}

/**
 * The ESM module Node runs: every `.print(); // value` line (at readme line offset `firstLine`)
 * becomes an awaited check, then the whole block is transpiled (types erased, top-level await
 * kept).
 */
export function runnableModule(code: string, firstLine: number): string {
  const lines = code.split('\n').map((l, i) => {
    const claim = printExpectation(l);
    if (!claim) return l;
    const expected = JSON.stringify(claim.expected, (_k, v) =>
      typeof v === 'number' && !Number.isFinite(v) ? `__${v}__` : v,
    ).replace(/"__(-?Infinity|NaN)__"/g, '$1');
    return `await (globalThis as any).__snippetPrint(${claim.expr}, ${expected}, ${firstLine + i});`;
  });
  const js = ts.transpileModule(lines.join('\n'), {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: false,
    },
  }).outputText;
  return `${CHECK_PRINT}\n${js}`;
}

/** Compiler options for every snippet: strict, as a user's project with DOM types would be. */
export const SNIPPET_COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  esModuleInterop: true,
};

/** Type-checks the files in one program; returns each file's diagnostics as readable text. */
export function typecheck(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, SNIPPET_COMPILER_OPTIONS);
  const byFile = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const where =
      d.file && d.start !== undefined
        ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `
        : '';
    // A diagnostic outside the snippets (a broken package type, a bad option) fails them all.
    if (file && byFile.has(file)) byFile.get(file)!.push(`${where}TS${d.code} ${text}`);
    else for (const l of byFile.values()) l.push(`(${file ?? 'program'}) TS${d.code} ${text}`);
  }
  return byFile;
}
