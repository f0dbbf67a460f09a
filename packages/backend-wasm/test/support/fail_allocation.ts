import { type DataId, type DataType, engine, type TensorInfo } from '@tensorflow/tfjs-core';

export interface RawBackend {
  wasm: { _free(offset: number): void };
  dataIdMap: { get(id: DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  numDataIds(): number;
}

/**
 * Makes the `nth` (0-based) makeOutput call of the backend behave as tfjs-wasm does at its 4 GiB
 * heap limit: the output's entry has memoryOffset 0 (malloc failed). The real block is freed so
 * nothing leaks. Returns the restore function.
 */
export function failNthAllocation(nth: number): () => void {
  const backend = engine().backend as unknown as RawBackend;
  const real = backend.makeOutput;
  let calls = 0;
  backend.makeOutput = function (this: RawBackend, shape: number[], dtype: DataType) {
    const info = real.call(this, shape, dtype);
    if (calls++ === nth) {
      const data = this.dataIdMap.get(info.dataId);
      this.wasm._free(data.memoryOffset);
      data.memoryOffset = 0;
    }
    return info;
  };
  return () => {
    backend.makeOutput = real;
  };
}

const BYTES: Partial<Record<DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Fills every block makeOutput hands out with 0xff bytes (NaN as float32, -1 as int32) until the
 * returned restore function is called: tfjs does not zero an output, so a kernel must write every
 * element, and this makes one it skips show (the allocator's reuse of a freed block cannot be
 * relied on for that: it hands out small blocks from wherever it likes).
 */
export function poisonAllocations(memory: () => WebAssembly.Memory): () => void {
  const backend = engine().backend as unknown as RawBackend;
  const real = backend.makeOutput;
  backend.makeOutput = function (this: RawBackend, shape: number[], dtype: DataType) {
    const info = real.call(this, shape, dtype);
    const bytes = shape.reduce((p, d) => p * d, 1) * (BYTES[dtype] ?? 4);
    const at = this.dataIdMap.get(info.dataId).memoryOffset;
    if (at !== 0) new Uint8Array(memory().buffer, at, bytes).fill(0xff);
    return info;
  };
  return () => {
    backend.makeOutput = real;
  };
}
