import {
  MASKED_REDUCTIONS,
  MASKED_SOFTMAXES,
  type MaskedReduction,
  type MaskedSoftmaxRow,
  type ReducerName,
} from '@masked-ops/core';

/**
 * The masked softmaxes by the name `--ops` takes: tfjs's unmasked op in lower case (`softmax`,
 * `logsoftmax`), as the reductions go by `logsumexp` for `tf.logSumExp`.
 */
export type SoftmaxName = 'softmax' | 'logsoftmax';

/** What the matrix runs: a reduction of core's table, or a masked softmax. */
export type MatrixOp = ReducerName | SoftmaxName;

/**
 * One op of the matrix and the benchmarks, whichever of core's tables it comes from. `kind` picks
 * how its cases are made, run and checked (matrix.ts's OpKind) and how it is timed (bench.ts):
 * reductions take x and a mask over its leading dims and reduce; softmaxes take logits and a mask
 * broadcast to them and keep the logits' shape.
 */
export type OpRow =
  | {
      kind: 'reduction';
      id: ReducerName;
      op: string;
      outputs: readonly string[];
      kernelName: string;
      gradKernelName: string;
      unmasked: string;
      row: MaskedReduction;
    }
  | {
      kind: 'softmax';
      id: SoftmaxName;
      op: string;
      outputs: readonly string[];
      kernelName: string;
      gradKernelName: string;
      unmasked: string;
      row: MaskedSoftmaxRow;
    };

const softmaxId = (row: MaskedSoftmaxRow): SoftmaxName => row.unmasked.toLowerCase() as SoftmaxName;

/** Every op the matrix knows: core's reductions table, then its softmaxes, in the tables' order. */
export const OP_ROWS: readonly OpRow[] = [
  ...MASKED_REDUCTIONS.map(
    (row): OpRow => ({
      kind: 'reduction',
      id: row.reducer,
      op: row.op,
      outputs: row.outputs,
      kernelName: row.kernelName,
      gradKernelName: row.gradKernelName,
      unmasked: row.unmasked,
      row,
    }),
  ),
  ...MASKED_SOFTMAXES.map(
    (row): OpRow => ({
      kind: 'softmax',
      id: softmaxId(row),
      op: row.op,
      outputs: ['y'],
      kernelName: row.kernelName,
      gradKernelName: row.gradKernelName,
      unmasked: row.unmasked,
      row,
    }),
  ),
];

/** Every op of the matrix, in report order (the reductions' table, then the softmaxes). */
export const ALL_OPS: readonly MatrixOp[] = OP_ROWS.map((r) => r.id);

/** The reductions alone (the reductions' table's reducers). */
export const ALL_REDUCERS: readonly ReducerName[] = MASKED_REDUCTIONS.map((r) => r.reducer);

/** The row of an op. */
export const rowOf = (id: MatrixOp): OpRow => OP_ROWS.find((r) => r.id === id)!;

export const isSoftmax = (id: string): id is SoftmaxName => id === 'softmax' || id === 'logsoftmax';

/** The reductions table's row of a reducer. */
export const specOf = (reducer: ReducerName): MaskedReduction =>
  MASKED_REDUCTIONS.find((r) => r.reducer === reducer)!;

/** The softmax table's row of a softmax. */
export const softmaxRowOf = (id: SoftmaxName): MaskedSoftmaxRow =>
  MASKED_SOFTMAXES.find((r) => softmaxId(r) === id)!;

/**
 * The embedding bag (core's `embeddingBag`, not a row of the tables): the benchmarks time it on
 * shapes of its own (`--bag-shapes`); the matrix leaves it to core's bag conformance suite.
 */
export const BAG = 'embeddingBag';

/** What `--ops` selects: the matrix's ops and the embedding bag. */
export type BenchOp = MatrixOp | typeof BAG;

/** Every op the benchmarks know, in report order: the reductions, the softmaxes, then the bag. */
export const ALL_BENCH_OPS: readonly BenchOp[] = [...ALL_OPS, BAG];

/** The ops of a selection the matrix and the page's picker take (all but the bag). */
export const matrixOpsOf = (ops: readonly BenchOp[]): MatrixOp[] =>
  ops.filter((o): o is MatrixOp => o !== BAG);

/** The masked reductions of a selection (the benchmarks' `--bench-shapes` rows). */
export const reducersOf = (ops: readonly BenchOp[]): ReducerName[] =>
  ops.filter((o): o is ReducerName => o !== BAG && !isSoftmax(o));

/** The masked softmaxes of a selection (the benchmarks' `--softmax-shapes` rows). */
export const softmaxesOf = (ops: readonly BenchOp[]): SoftmaxName[] =>
  ops.filter((o): o is SoftmaxName => isSoftmax(o));

const accepted = (): string =>
  `${ALL_OPS.join(', ')} (or ${OP_ROWS.map((r) => r.op).join(', ')}), ${BAG} (or bag), or all`;

/**
 * `--ops` and the page's op picker: "sum,max", "maskedSum,maskedMax", "softmax",
 * "embeddingBag" / "bag" or "all" -> ops in report order, each once. The CLI and the page read
 * ops the same way.
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
    const row = OP_ROWS.find((r) => r.id === word || r.op === word);
    if (!row) throw new Error(`unknown op "${word}" in --ops; expected any of ${accepted()}`);
    picked.add(row.id);
  }
  return ALL_BENCH_OPS.filter((r) => picked.has(r));
}
