import { type DataId, type DataType, env, type TensorInfo } from '@tensorflow/tfjs-core';
import { scalarWasm, simdSharedWasm, simdWasm } from './generated/wasm_modules.js';

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` the kernels use. Typed structurally: the package's
 * own typings describe the Emscripten module loosely and do not mention where the memory lives.
 */
export interface WasmBackendLike {
  wasm: {
    /** Plain and SIMD builds: the module's exports, whose `memory` is the heap. */
    asm?: { memory?: WebAssembly.Memory };
    /** Threaded-SIMD build: the shared heap is created in JS and kept here. */
    wasmMemory?: WebAssembly.Memory;
  };
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/** Which of the three embedded kernel modules runs. */
export type KernelModuleVariant = 'simd' | 'simd-shared' | 'scalar';

/** The exports of assembly/index.ts. Pointers are byte offsets into tfjs's heap. */
export interface KernelExports {
  maskedMeanBlocks(
    x: number,
    mask: number,
    out: number,
    outer: number,
    reduce: number,
    mid: number,
    inner: number,
  ): void;
  maskedMeanGradBlocks(
    dy: number,
    mask: number,
    dx: number,
    outer: number,
    reduce: number,
    mid: number,
    inner: number,
  ): void;
  maskedMeanTables(
    x: number,
    mask: number,
    out: number,
    kept: number,
    keptSize: number,
    red: number,
    reduceSize: number,
    inner: number,
  ): void;
  maskedMeanGradTables(
    dy: number,
    mask: number,
    dx: number,
    kept: number,
    keptSize: number,
    red: number,
    reduceSize: number,
    inner: number,
  ): void;
}

export interface KernelModuleInfo {
  variant: KernelModuleVariant;
  /** tfjs's heap, which the kernel module imports. */
  memory: WebAssembly.Memory;
  /** Size of the embedded module in bytes. */
  moduleBytes: number;
}

const BASE64: Record<KernelModuleVariant, string> = {
  simd: simdWasm,
  'simd-shared': simdSharedWasm,
  scalar: scalarWasm,
};

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const compiled = new Map<KernelModuleVariant, WebAssembly.Module>();
interface Linked {
  variant: KernelModuleVariant;
  exports: KernelExports;
}
/** One instance per heap: a new backend (new memory) gets its own, the old one is collectable. */
const linked = new WeakMap<WebAssembly.Memory, Linked>();

/** tfjs's WebAssembly.Memory for this backend. */
export function heapMemory(backend: WasmBackendLike): WebAssembly.Memory {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      '@masked-ops/backend-wasm: cannot find the WebAssembly.Memory of the wasm backend ' +
        '(expected backend.wasm.wasmMemory or backend.wasm.asm.memory; is this tfjs-backend-wasm 4.x?)',
    );
  }
  return memory;
}

const isShared = (memory: WebAssembly.Memory): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/**
 * The module for this heap. Shared memory only comes from tfjs's threaded-SIMD build, which needs
 * the shared-memory module. Otherwise SIMD unless tfjs decided against it (the flag tfjs read when
 * it chose its binary, possibly set by the user) or the engine cannot compile SIMD.
 */
export function chooseVariant(memory: WebAssembly.Memory): KernelModuleVariant {
  if (isShared(memory)) return 'simd-shared';
  const flag = env().getFlags()['WASM_HAS_SIMD_SUPPORT'];
  if (flag === false) return 'scalar';
  return WebAssembly.validate(decode(BASE64.simd)) ? 'simd' : 'scalar';
}

function link(memory: WebAssembly.Memory): Linked {
  let entry = linked.get(memory);
  if (entry === undefined) {
    const variant = chooseVariant(memory);
    let module = compiled.get(variant);
    if (module === undefined) {
      // Synchronous on purpose (modules < 4 KB), so a kernel works on its first call even when
      // it was registered after setBackend('wasm').
      module = new WebAssembly.Module(decode(BASE64[variant]));
      compiled.set(variant, module);
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    entry = { variant, exports: instance.exports as unknown as KernelExports };
    linked.set(memory, entry);
  }
  return entry;
}

/** The kernel exports linked to this backend's heap, instantiated on first use. */
export function kernelsFor(backend: WasmBackendLike): KernelExports {
  return link(heapMemory(backend)).exports;
}

/** Which module serves this backend (instantiating it if needed): for tests and diagnostics. */
export function kernelModuleInfo(backend: WasmBackendLike): KernelModuleInfo {
  const memory = heapMemory(backend);
  const { variant } = link(memory);
  return { variant, memory, moduleBytes: decode(BASE64[variant]).length };
}

/** Byte offset of a tensor's data in the heap. Stable across heap growth. */
export function offsetOf(backend: WasmBackendLike, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined)
    throw new Error('@masked-ops/backend-wasm: tensor not on the wasm backend');
  return data.memoryOffset;
}

/**
 * Puts two int32 tables contiguously on the heap for the duration of `run(keptPtr, reducePtr)`,
 * then frees them. The view is made after the allocation, which may have grown the heap.
 */
export function withTables(
  backend: WasmBackendLike,
  kept: Int32Array,
  reduce: Int32Array,
  run: (keptPtr: number, reducePtr: number) => void,
): void {
  const n = kept.length + reduce.length;
  const table = backend.makeOutput([n], 'int32');
  try {
    const ptr = offsetOf(backend, table);
    const view = new Int32Array(heapMemory(backend).buffer, ptr, n);
    view.set(kept);
    view.set(reduce, kept.length);
    run(ptr, ptr + 4 * kept.length);
  } finally {
    backend.disposeData(table.dataId);
  }
}
