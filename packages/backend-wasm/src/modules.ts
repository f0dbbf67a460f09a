import { env } from '@tensorflow/tfjs-core';
import {
  type KernelModuleExports,
  type KernelModuleName,
  MODULE_BINARIES,
} from './generated/wasm_modules.js';
import { heapMemory, type WasmBackendLike } from './heap.js';

/** Which build of the kernel modules runs (one per tfjs build). */
export type KernelModuleVariant = 'simd' | 'simd-shared' | 'scalar';

export interface KernelModuleInfo {
  variant: KernelModuleVariant;
  /** tfjs's heap, which every kernel module imports. */
  memory: WebAssembly.Memory;
  /** Size in bytes of each embedded kernel module of this variant. */
  moduleBytes: Record<KernelModuleName, number>;
}

const BINARY_KEY = { simd: 'simd', 'simd-shared': 'simdShared', scalar: 'scalar' } as const;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const binary = (module: KernelModuleName, variant: KernelModuleVariant): string =>
  MODULE_BINARIES[module][BINARY_KEY[variant]];

const isShared = (memory: WebAssembly.Memory): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/**
 * The variant for this heap. Shared memory only comes from tfjs's threaded-SIMD build, which
 * needs the shared-memory modules. Otherwise SIMD unless tfjs decided against it (the flag tfjs
 * read when it chose its binary, possibly set by the user) or the engine cannot compile SIMD.
 */
export function chooseVariant(memory: WebAssembly.Memory): KernelModuleVariant {
  if (isShared(memory)) return 'simd-shared';
  const flag = env().getFlags()['WASM_HAS_SIMD_SUPPORT'];
  if (flag === false) return 'scalar';
  return WebAssembly.validate(decode(binary('sums', 'simd'))) ? 'simd' : 'scalar';
}

const compiled = new Map<string, WebAssembly.Module>();

interface Linked {
  variant: KernelModuleVariant;
  instances: Partial<KernelModuleExports>;
}
/** One set of instances per heap: a new backend (new memory) gets its own. */
const linked = new WeakMap<WebAssembly.Memory, Linked>();

function linkedFor(memory: WebAssembly.Memory): Linked {
  let entry = linked.get(memory);
  if (entry === undefined) {
    entry = { variant: chooseVariant(memory), instances: {} };
    linked.set(memory, entry);
  }
  return entry;
}

/**
 * The exports of one kernel module linked to this backend's heap, compiled and instantiated on
 * first use. Synchronous on purpose (every module is < 4 KB, which scripts/build-wasm.mjs checks),
 * so a kernel works on its first call even when it was registered after setBackend('wasm').
 */
export function kernelModule<M extends KernelModuleName>(
  backend: WasmBackendLike,
  module: M,
): KernelModuleExports[M] {
  const memory = heapMemory(backend);
  const entry = linkedFor(memory);
  let exports = entry.instances[module] as KernelModuleExports[M] | undefined;
  if (exports === undefined) {
    const key = `${module}/${entry.variant}`;
    let compiledModule = compiled.get(key);
    if (compiledModule === undefined) {
      compiledModule = new WebAssembly.Module(decode(binary(module, entry.variant)));
      compiled.set(key, compiledModule);
    }
    const instance = new WebAssembly.Instance(compiledModule, { env: { memory } });
    exports = instance.exports as unknown as KernelModuleExports[M];
    entry.instances[module] = exports;
  }
  return exports;
}

/** Which variant serves this backend, and the module sizes: for tests and diagnostics. */
export function kernelModuleInfo(backend: WasmBackendLike): KernelModuleInfo {
  const memory = heapMemory(backend);
  const { variant } = linkedFor(memory);
  const moduleBytes = Object.fromEntries(
    Object.keys(MODULE_BINARIES).map((m) => [
      m,
      decode(binary(m as KernelModuleName, variant)).length,
    ]),
  ) as Record<KernelModuleName, number>;
  return { variant, memory, moduleBytes };
}
