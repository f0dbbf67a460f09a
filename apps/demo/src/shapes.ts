/**
 * The shapes of the user's own cases and benchmarks, as the CLI and the page spell them:
 *
 * - `BxTxF` (e.g. `256x200x64`): the Keras layout, x `[B,T,F]`, mask `[B,T]`, pooled over time
 *   (axis 1);
 * - `D1xD2x...:all` (e.g. `4096x4096:all`): the per-token-loss form, a mask of x's full shape and
 *   the default axis (every axis): one scalar, as `maskedMean(tokenLoss, tokenMask)` is called.
 */
export interface ShapeSpec {
  /** x's shape. */
  x: number[];
  form: 'pool' | 'all';
}

/** "[256,200,64]" or "[4096,4096]:all": the label of a shape in reports and bench rows. */
export const shapeLabel = (s: ShapeSpec): string =>
  `[${s.x.join(',')}]${s.form === 'all' ? ':all' : ''}`;

/** The mask's shape: x's leading [B,T] for the Keras layout, x's whole shape for `:all`. */
export const maskShapeOf = (s: ShapeSpec): number[] => (s.form === 'all' ? s.x : s.x.slice(0, 2));

/** The axis the op gets: 1 (time) for the Keras layout, the default (undefined) for `:all`. */
export const axisOf = (s: ShapeSpec): number | undefined => (s.form === 'all' ? undefined : 1);

/** The output's shape: [B,F] for the Keras layout, a scalar for `:all`. */
export const outShapeOf = (s: ShapeSpec): number[] => (s.form === 'all' ? [] : [s.x[0]!, s.x[2]!]);

/** "64x50x16, 4096x4096:all" -> shape specs; the CLI and the page read shapes the same way. */
export function parseShapes(text: string): ShapeSpec[] {
  return text
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((word) => {
      const [dimsText, suffix, ...rest] = word.split(':');
      const dims = dimsText!.split('x').map((d) => (d === '' ? Number.NaN : Number(d)));
      const bad = dims.some((d) => !Number.isInteger(d) || d < 0);
      if (rest.length === 0 && suffix === undefined && dims.length === 3 && !bad) {
        return { x: dims, form: 'pool' as const };
      }
      if (rest.length === 0 && suffix === 'all' && dims.length >= 1 && !bad) {
        return { x: dims, form: 'all' as const };
      }
      throw new Error(
        `bad shape "${word}": expected BxTxF (mask [B,T], axis 1), e.g. 64x50x16, or ` +
          `D1xD2...:all (mask of x's shape, every axis), e.g. 4096x4096:all`,
      );
    });
}

/**
 * An embedding-bag benchmark shape, `BxL:VxD` on the command line (e.g. `1024x50:100000x16`): ids
 * `[B, L]` (B bags of L ids, some of them padding) looking up a table `[V, D]`.
 */
export interface BagShape {
  batch: number;
  bagLen: number;
  vocab: number;
  dim: number;
}

/** "ids [1024,50], table [100000,16]": the label of a bag shape in reports and bench rows. */
export const bagLabel = (s: BagShape): string =>
  `ids [${s.batch},${s.bagLen}], table [${s.vocab},${s.dim}]`;

/** "1024x50:100000x16, 256x200:10000x64" -> bag shapes. */
export function parseBagShapes(text: string): BagShape[] {
  return text
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((word) => {
      const m = /^(\d+)x(\d+):(\d+)x(\d+)$/.exec(word);
      const [batch, bagLen, vocab, dim] = (m?.slice(1) ?? []).map(Number);
      if (!m || !(vocab! >= 2 && dim! >= 1 && batch! >= 1 && bagLen! >= 1)) {
        throw new Error(
          `bad bag shape "${word}": expected BxL:VxD (ids [B,L] into a table [V,D], V >= 2, every size >= 1), e.g. 1024x50:100000x16`,
        );
      }
      return { batch: batch!, bagLen: bagLen!, vocab: vocab!, dim: dim! };
    });
}

/**
 * A masked-softmax benchmark shape, `LOGITS:MASK` on the command line (e.g.
 * `8x12x128x128:8x1x1x128`, attention logits [B,H,Lq,Lk] with a key-padding mask): the mask
 * broadcasts to the logits by NumPy rules (aligned from the right, each dim 1 or the logits'),
 * the softmax runs over the last axis.
 */
export interface SoftmaxShape {
  logits: number[];
  mask: number[];
}

/** "logits [8,12,128,128], mask [8,1,1,128]": the label of a softmax shape. */
export const softmaxLabel = (s: SoftmaxShape): string =>
  `logits [${s.logits.join(',')}], mask [${s.mask.join(',')}]`;

/** "8x12x128x128:8x1x1x128, 64x4096:64x4096" -> softmax shapes. */
export function parseSoftmaxShapes(text: string): SoftmaxShape[] {
  return text
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((word) => {
      const parts = word.split(':');
      const dims = parts.map((p) =>
        p.split('x').map((d) => (/^\d+$/.test(d) ? Number(d) : Number.NaN)),
      );
      const [logits, mask] = dims as [number[], number[] | undefined];
      const ok =
        parts.length === 2 &&
        mask !== undefined &&
        [...logits, ...mask].every((d) => Number.isInteger(d) && d >= 1) &&
        mask.length <= logits.length &&
        mask.every((d, i) => d === 1 || d === logits[logits.length - mask.length + i]);
      if (!ok) {
        throw new Error(
          `bad softmax shape "${word}": expected LOGITS:MASK, e.g. 8x12x128x128:8x1x1x128, every size >= 1, the mask broadcasting to the logits (aligned from the right, each dim 1 or the logits' dim)`,
        );
      }
      return { logits, mask: mask! };
    });
}
