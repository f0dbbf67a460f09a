import { MASKED_REDUCTIONS, type ReducerName } from '@masked-ops/core';
import { WASM_REDUCERS } from '../../src/reducers.js';

/**
 * The table rows this package implements, in table order. The registration suite separately
 * demands a config for every row of the table, so a missing reducer cannot pass unnoticed.
 */
export const WASM_SPECS = MASKED_REDUCTIONS.filter((s) => WASM_REDUCERS[s.reducer] !== undefined);
export const WASM_OPS: ReducerName[] = WASM_SPECS.map((s) => s.reducer);
