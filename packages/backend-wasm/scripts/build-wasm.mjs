// Compiles each kernel module (assembly/<module>.ts) into three variants and writes
// src/generated/wasm_modules.ts (gitignored; tsc carries it into dist): the binaries as base64,
// so users need no AssemblyScript toolchain and every bundler and Node can instantiate them
// synchronously; the TypeScript type of each module's exports, read from the exported function
// signatures of its source and checked against the compiled module's export section; and the
// constants of assembly/constants.ts, so the drivers and the kernels agree on them.
//
// Each binary is checked before it is embedded: it must import exactly one memory (env.memory,
// tfjs's heap), have no data segment (one would be written into tfjs's heap at instantiation),
// and stay under 4 KB (Chrome refuses synchronous `new WebAssembly.Module` above that on the main
// thread). Run once per build by turbo's `generate` task (or `pnpm build:wasm`).
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_BYTES = Number(process.env.MAX_BYTES ?? 4096);

/** Kernel modules, one per family, each small enough to compile synchronously. */
const modules = {
  // Forward masked reduce of the sum family (sum, mean).
  sums: 'assembly/sums.ts',
  // Forward masked reduce of the extrema (max, min).
  extrema: 'assembly/extrema.ts',
  // Forward masked logsumexp (running max, then the sum of e^(x - max)).
  logsumexp: 'assembly/logsumexp.ts',
  // Forward masked moments (mean and variance from shifted sums).
  moments: 'assembly/moments.ts',
  // Gradients: dy broadcast to the valid (tied) positions, or a formula there (statistics).
  broadcast: 'assembly/broadcast.ts',
  // The embedding bag's forward (sum, mean, max over weight rows picked by ids) and the
  // gradient with respect to its perSampleWeights (dot products with the same rows).
  bags: 'assembly/bags.ts',
  // Scatter-adds: tfjs's UnsortedSegmentSum (tf.gather's gradient) and the bag's d weight.
  scatter: 'assembly/scatter.ts',
  // The masked softmax and log-softmax, row by row with the mask read by strides: forward, and
  // gradient (two modules, each with one inlined exp in its hot loop).
  softmax: 'assembly/softmax.ts',
  softmaxGrad: 'assembly/softmax_grad.ts',
};

const common = [
  '--runtime',
  'stub',
  '--importMemory',
  '--noExportMemory',
  '-O3',
  '--noAssert',
  '--use',
  'abort=',
];

/** variant -> extra asc flags */
const variants = {
  // tfjs's SIMD build (Node, browsers without cross-origin isolation).
  simd: ['--enable', 'simd'],
  // tfjs's threaded-SIMD build: its memory is shared, so ours must be declared shared too.
  simdShared: [
    '--enable',
    'simd',
    '--enable',
    'threads',
    '--sharedMemory',
    '--maximumMemory',
    '65536',
  ],
  // tfjs's plain build (engines without wasm SIMD): WebAssembly MVP only.
  scalar: [
    '--disable',
    'bulk-memory',
    '--disable',
    'sign-extension',
    '--disable',
    'nontrapping-f2i',
    '--disable',
    'mutable-globals',
  ],
};

function readLeb(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) return [result >>> 0, pos];
  }
}

function readName(bytes, pos) {
  const [len, p] = readLeb(bytes, pos);
  return [new TextDecoder().decode(bytes.subarray(p, p + len)), p + len];
}

/**
 * Throws unless the module is small, data-free and imports only env.memory; returns the names of
 * its exported functions.
 */
function checkModule(name, bytes) {
  const problems = [];
  if (bytes.length > MAX_BYTES) problems.push(`${bytes.length} bytes > ${MAX_BYTES}`);
  let pos = 8;
  const imports = [];
  const exports = [];
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = readLeb(bytes, pos);
    const end = pos + size;
    if (id === 11 || id === 12) problems.push(`has a data section (id ${id})`);
    if (id === 2) {
      let count;
      let p = pos;
      [count, p] = readLeb(bytes, p);
      for (let i = 0; i < count; i++) {
        let mod;
        let field;
        [mod, p] = readName(bytes, p);
        [field, p] = readName(bytes, p);
        const kind = bytes[p++];
        imports.push(`${mod}.${field}:${kind}`);
        if (kind !== 2) break; // only memories expected; anything else is reported below
        const flags = bytes[p++];
        [, p] = readLeb(bytes, p); // initial
        if (flags & 1) [, p] = readLeb(bytes, p); // maximum
      }
    }
    if (id === 7) {
      let count;
      let p = pos;
      [count, p] = readLeb(bytes, p);
      for (let i = 0; i < count; i++) {
        let field;
        [field, p] = readName(bytes, p);
        const kind = bytes[p++];
        [, p] = readLeb(bytes, p); // index
        if (kind !== 0) problems.push(`exports ${field} of kind ${kind}, expected functions only`);
        exports.push(field);
      }
    }
    pos = end;
  }
  if (imports.length !== 1 || imports[0] !== 'env.memory:2') {
    problems.push(`imports [${imports}], expected only env.memory`);
  }
  if (problems.length) throw new Error(`module ${name}: ${problems.join('; ')}`);
  return exports.sort();
}

/**
 * The exported functions of an AssemblyScript entry file: `export function f(a: T, ...): void`.
 * Every parameter is a number on the JS side (i32/u32/usize/f32/f64: no i64 crosses the boundary).
 */
function exportedSignatures(file) {
  const source = readFileSync(join(root, file), 'utf8');
  const found = [];
  const re = /export function (\w+)\(([^)]*)\):\s*(\w+)/g;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    const [, fn, paramText, result] = m;
    const params = paramText
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const [pname, type] = p.split(':').map((s) => s.trim());
        if (!/^(i32|u32|usize|f32|f64|bool)$/.test(type)) {
          throw new Error(`${file}: ${fn}(${pname}: ${type}) is not a 32-bit or float parameter`);
        }
        return pname.replace(/^_/, ''); // unused in this module, not on the JS side
      });
    if (result !== 'void') throw new Error(`${file}: ${fn} returns ${result}, expected void`);
    found.push({ fn, params });
  }
  return found;
}

/** `export const NAME: i32 = <integer>;` lines of assembly/constants.ts. */
function sharedConstants() {
  const source = readFileSync(join(root, 'assembly/constants.ts'), 'utf8');
  const re = /^export const (\w+): \w+ = (-?\d+);$/gm;
  return [...source.matchAll(re)].map(([, name, value]) => ({ name, value: Number(value) }));
}

/**
 * turbo runs this once (the `generate` task) before build, typecheck and test; a developer may
 * still run it by hand while a test is reading: write through a rename so a reader never sees a
 * half-written file, and leave an unchanged file alone.
 */
function writeAtomically(path, contents) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(contents)) === 0) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

async function compile(module, source, variant, flags) {
  let wasm = null;
  const stderr = [];
  const { error } = await asc.main(
    [source, '--outFile', `build/${module}.${variant}.wasm`, ...common, ...flags],
    {
      baseDir: root,
      stdout: { write: () => true },
      stderr: { write: (s) => stderr.push(String(s)) },
      writeFile: (filename, contents) => {
        if (filename.endsWith('.wasm')) wasm = contents;
      },
    },
  );
  if (error)
    throw new Error(`asc failed for ${module}/${variant}: ${error.message}\n${stderr.join('')}`);
  if (!(wasm instanceof Uint8Array))
    throw new Error(`asc produced no binary for ${module}/${variant}`);
  return wasm;
}

const typeName = (module) => `${module[0].toUpperCase()}${module.slice(1)}Exports`;
const built = {};
mkdirSync(join(root, 'build'), { recursive: true });
for (const [module, source] of Object.entries(modules)) {
  const signatures = exportedSignatures(source);
  const declared = signatures.map((s) => s.fn).sort();
  built[module] = { signatures, binaries: {} };
  for (const [variant, flags] of Object.entries(variants)) {
    const wasm = await compile(module, source, variant, flags);
    const exported = checkModule(`${module}/${variant}`, wasm);
    if (JSON.stringify(exported) !== JSON.stringify(declared)) {
      throw new Error(
        `${module}/${variant} exports [${exported}] but ${source} declares [${declared}]`,
      );
    }
    writeAtomically(join(root, 'build', `${module}.${variant}.wasm`), wasm);
    built[module].binaries[variant] = wasm;
  }
}

// Binaries of modules that no longer exist would otherwise linger in build/ (a turbo output).
const current = new Set(
  Object.keys(modules).flatMap((m) => Object.keys(variants).map((v) => `${m}.${v}.wasm`)),
);
for (const file of readdirSync(join(root, 'build'))) {
  if (!current.has(file)) rmSync(join(root, 'build', file));
}

const lines = [
  '// Generated by scripts/build-wasm.mjs from assembly/. Do not edit; not committed.',
  '',
  ...sharedConstants().map(({ name, value }) => `export const ${name} = ${value};`),
  '',
  `/** The kernel modules, one per family. */`,
  `export type KernelModuleName = ${Object.keys(modules)
    .map((m) => `'${m}'`)
    .join(' | ')};`,
  '',
];
for (const [module, { signatures }] of Object.entries(built)) {
  lines.push(
    `/** The exports of ${modules[module]}. Pointers are byte offsets into tfjs's heap. */`,
    `export interface ${typeName(module)} {`,
    ...signatures.map(
      ({ fn, params }) => `  ${fn}(${params.map((p) => `${p}: number`).join(', ')}): void;`,
    ),
    '}',
    '',
  );
}
lines.push(
  '/** The exports of every module, by module name. */',
  'export interface KernelModuleExports {',
  ...Object.keys(built).map((m) => `  ${m}: ${typeName(m)};`),
  '}',
  '',
  '/** The exported function names of every module (sorted). */',
  'export const MODULE_EXPORTS: { [M in KernelModuleName]: (keyof KernelModuleExports[M])[] } = {',
  ...Object.entries(built).map(
    ([m, { signatures }]) =>
      `  ${m}: [${signatures
        .map((s) => `'${s.fn}'`)
        .sort()
        .join(', ')}],`,
  ),
  '};',
  '',
  '/** Each module in each variant: WebAssembly, base64. */',
  'export const MODULE_BINARIES: {',
  '  [M in KernelModuleName]: { simd: string; simdShared: string; scalar: string };',
  '} = {',
);
for (const [module, { binaries }] of Object.entries(built)) {
  lines.push(`  ${module}: {`);
  for (const [variant, bytes] of Object.entries(binaries)) {
    lines.push(
      `    // ${bytes.length} bytes`,
      `    ${variant}: '${Buffer.from(bytes).toString('base64')}',`,
    );
  }
  lines.push('  },');
}
lines.push('};', '');
mkdirSync(join(root, 'src', 'generated'), { recursive: true });
writeAtomically(join(root, 'src', 'generated', 'wasm_modules.ts'), lines.join('\n'));
console.log(
  `wasm kernels: ${Object.entries(built)
    .map(
      ([m, { binaries }]) =>
        `${m} (${Object.entries(binaries)
          .map(([v, b]) => `${v} ${b.length} B`)
          .join(', ')})`,
    )
    .join('; ')}`,
);
