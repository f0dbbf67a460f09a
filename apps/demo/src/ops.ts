import { MASKED_REDUCTIONS, type MaskedReduction, type ReducerName } from '@masked-ops/core';

/** Every reducer of core's op table, in the table's order (the order reports list them). */
export const ALL_OPS: readonly ReducerName[] = MASKED_REDUCTIONS.map((r) => r.reducer);

/** The table row of a reducer. */
export const specOf = (reducer: ReducerName): MaskedReduction =>
  MASKED_REDUCTIONS.find((r) => r.reducer === reducer)!;

const accepted = (): string =>
  `${ALL_OPS.join(', ')} (or ${MASKED_REDUCTIONS.map((r) => r.op).join(', ')}, or all)`;

/**
 * `--ops` and the page's op picker: "sum,max", "maskedSum,maskedMax" or "all" -> reducers in the
 * table's order, each once. The CLI and the page read ops the same way.
 */
export function parseOps(text: string): ReducerName[] {
  const words = text.split(/[,;\s]+/).filter(Boolean);
  if (words.length === 0) throw new Error(`--ops is empty; expected any of ${accepted()}`);
  const picked = new Set<ReducerName>();
  for (const word of words) {
    if (word === 'all') {
      for (const r of ALL_OPS) picked.add(r);
      continue;
    }
    const row = MASKED_REDUCTIONS.find((r) => r.reducer === word || r.op === word);
    if (!row) throw new Error(`unknown op "${word}" in --ops; expected any of ${accepted()}`);
    picked.add(row.reducer);
  }
  return ALL_OPS.filter((r) => picked.has(r));
}
