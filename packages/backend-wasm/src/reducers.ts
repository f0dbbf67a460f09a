import type { ReducerName } from '@masked-ops/core';
import {
  REDUCER_LOGSUMEXP,
  REDUCER_MAX,
  REDUCER_MEAN,
  REDUCER_MIN,
  REDUCER_MOMENTS,
  REDUCER_SUM,
} from './generated/wasm_modules.js';

/**
 * What the drivers need to know about a reducer; the kernels' own reducer-specific code is in
 * assembly/reducers.ts, keyed by the same code.
 */
export interface WasmReducer {
  /** The `reducer` argument of the kernel modules (assembly/constants.ts). */
  code: number;
  /** The forward module of its family (assembly/<module>.ts). */
  module: 'sums' | 'extrema' | 'logsumexp' | 'moments';
  /**
   * Adds float32 partials into a float64 accumulator row: the driver allocates `inner` f64s of
   * scratch when a slice is longer than ROWS_PER_PARTIAL. (logsumexp and moments keep their
   * float64 sums in registers, column by column.)
   */
  accumulates: boolean;
}

export const WASM_REDUCERS: Record<ReducerName, WasmReducer> = {
  sum: { code: REDUCER_SUM, module: 'sums', accumulates: true },
  mean: { code: REDUCER_MEAN, module: 'sums', accumulates: true },
  max: { code: REDUCER_MAX, module: 'extrema', accumulates: false },
  min: { code: REDUCER_MIN, module: 'extrema', accumulates: false },
  logsumexp: { code: REDUCER_LOGSUMEXP, module: 'logsumexp', accumulates: false },
  moments: { code: REDUCER_MOMENTS, module: 'moments', accumulates: false },
};
