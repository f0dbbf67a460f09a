// Numbers the kernels and the TypeScript drivers must agree on. scripts/build-wasm.mjs copies
// every `export const` of this file into src/generated/wasm_modules.ts, so the two sides cannot
// drift apart.

/** Reducer codes, the `reducer` argument of every exported kernel (src/reducers.ts maps names). */
export const REDUCER_SUM: i32 = 0;
export const REDUCER_MEAN: i32 = 1;
export const REDUCER_MAX: i32 = 2;
export const REDUCER_MIN: i32 = 3;
export const REDUCER_LOGSUMEXP: i32 = 4;
export const REDUCER_MOMENTS: i32 = 5;

/**
 * Sums and means add at most this many rows in float32 before the partial row is added into a
 * float64 accumulator row (`inner` f64s of scratch that the driver allocates when a slice has more
 * reduced positions than this). Short slices never touch float64. The statistics (stats.ts) add
 * their float32 partials of this many rows into float64 registers instead (no scratch).
 */
export const ROWS_PER_PARTIAL: i32 = 256;

/**
 * The masked softmax forward's scratch after its dims table: the exp's ten constants as four
 * lanes each (assembly/softmax_rows.ts storeExpConstants says why they go through memory).
 */
export const SOFTMAX_EXP_WORDS: i32 = 40;
