import { MASKED_REDUCTIONS, type MaskedReduction, type ReducerName } from '@masked-ops/core';

/** Every reducer of core's op table, in the table's order (the order reports list them). */
export const ALL_OPS: readonly ReducerName[] = MASKED_REDUCTIONS.map((r) => r.reducer);

/** The table row of a reducer. */
export const specOf = (reducer: ReducerName): MaskedReduction =>
  MASKED_REDUCTIONS.find((r) => r.reducer === reducer)!;

/**
 * The embedding bag (core's `embeddingBag`, not a row of the table): the benchmarks time it on
 * shapes of its own (`--bag-shapes`); the matrix leaves it to core's bag conformance suite.
 */
export const BAG = 'embeddingBag';

/** What `--ops` selects: the table's reducers and the embedding bag. */
export type BenchOp = ReducerName | typeof BAG;

/** Every op the benchmarks know, in report order: the table's, then the bag. */
export const ALL_BENCH_OPS: readonly BenchOp[] = [...ALL_OPS, BAG];

/** The masked reductions of a selection (what the matrix and the page's picker take). */
export const reducersOf = (ops: readonly BenchOp[]): ReducerName[] =>
  ops.filter((o): o is ReducerName => o !== BAG);

const accepted = (): string =>
  `${ALL_OPS.join(', ')} (or ${MASKED_REDUCTIONS.map((r) => r.op).join(', ')}), ${BAG} (or bag), or all`;

/**
 * `--ops` and the page's op picker: "sum,max", "maskedSum,maskedMax", "embeddingBag" / "bag" or
 * "all" -> ops in the table's order, then the bag, each once. The CLI and the page read ops the
 * same way.
 */
export function parseOps(text: string): BenchOp[] {
  const words = text.split(/[,;\s]+/).filter(Boolean);
  if (words.length === 0) throw new Error(`--ops is empty; expected any of ${accepted()}`);
  const picked = new Set<BenchOp>();
  for (const word of words) {
    if (word === 'all') {
      for (const r of ALL_BENCH_OPS) picked.add(r);
      continue;
    }
    if (word === BAG || word === 'bag') {
      picked.add(BAG);
      continue;
    }
    const row = MASKED_REDUCTIONS.find((r) => r.reducer === word || r.op === word);
    if (!row) throw new Error(`unknown op "${word}" in --ops; expected any of ${accepted()}`);
    picked.add(row.reducer);
  }
  return ALL_BENCH_OPS.filter((r) => picked.has(r));
}
