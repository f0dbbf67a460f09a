import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';

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

/** Byte offset of a tensor's data in the heap. Stable across heap growth. */
export function offsetOf(backend: WasmBackendLike, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) {
    throw new Error('@masked-ops/backend-wasm: tensor not on the wasm backend');
  }
  return data.memoryOffset;
}

/** An allocation on the heap: the tensor info and its byte offset. */
export interface Allocation {
  info: TensorInfo;
  offset: number;
}

const BYTES: Partial<Record<DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Everything one kernel call allocates on the heap. At tfjs-wasm's heap limit (4 GiB) `makeOutput`
 * gets offset 0 from malloc and returns it without complaint; writing there would overwrite the
 * start of the heap. Every allocation is checked, and `release()` (in a `finally`) frees whatever
 * the call allocated except what it `keep`s, so a throwing kernel leaks nothing.
 */
export class CallHeap {
  private readonly owned: TensorInfo[] = [];

  constructor(
    private readonly backend: WasmBackendLike,
    private readonly op: string,
  ) {}

  /** A new tensor on the heap; throws a clear Error instead of handing out offset 0. */
  allocate(shape: number[], dtype: DataType, what: string): Allocation {
    const info = this.backend.makeOutput(shape, dtype);
    this.owned.push(info);
    const offset = offsetOf(this.backend, info);
    const bytes = shape.reduce((p, d) => p * d, 1) * (BYTES[dtype] ?? 4);
    if (offset === 0 && bytes > 0) {
      throw new Error(
        `${this.op}: out of memory on the wasm backend: could not allocate the [${shape}] ` +
          `${dtype} ${what} (${bytes} bytes); the wasm heap is at most 4 GiB`,
      );
    }
    return { info, offset };
  }

  /** The allocation survives `release()` (the kernel's result). */
  keep(allocation: Allocation): TensorInfo {
    const i = this.owned.indexOf(allocation.info);
    if (i >= 0) this.owned.splice(i, 1);
    return allocation.info;
  }

  /** Frees every allocation of the call that was not kept. */
  release(): void {
    for (const info of this.owned.splice(0)) this.backend.disposeData(info.dataId);
  }
}
