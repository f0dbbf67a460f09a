import {
  concat,
  customGrad,
  engine,
  type GradSaveFunc,
  getBackend,
  getKernel,
  op,
  range,
  reshape,
  type Tensor,
  type Tensor2D,
  type TensorLike,
  tensor1d,
  zeros,
} from '@tensorflow/tfjs-core';
import { asTensor } from '../ops/masked_reduce.js';
import { compositeEmbeddingBag, compositeEmbeddingBagGrads } from './composite.js';
import { EMBEDDING_BAG, type EmbeddingBagAttrs, type EmbeddingBagMode } from './contract.js';
import { validateBagArgs } from './validate.js';

export interface EmbeddingBagOptions {
  /** How each bag's rows combine: 'mean' (default), 'sum' or 'max' (per column). */
  mode?: EmbeddingBagMode;
  /**
   * Ids equal to this are skipped: not counted, never the max, no gradient. Negative values count
   * from the end (-1 is the last row), as PyTorch's `padding_idx`. `null` or absent: none.
   */
  paddingId?: number | null;
  /** Weights of each id (the shape of ids), mode 'sum' only: each row is scaled before the sum. */
  perSampleWeights?: Tensor | TensorLike;
  /** With 1-D ids: where each bag starts (int32, `[batch]`, starting at 0). */
  offsets?: Tensor | TensorLike;
  /** `offsets` has one more element, the end of the last bag (`ids.size`), as in PyTorch. */
  includeLastOffset?: boolean;
}

/** Everything the kernels and the gradient need, normalised. */
interface BagCall {
  ids: Tensor;
  offsets: Tensor;
  perSampleWeights?: Tensor;
  attrs: EmbeddingBagAttrs;
  numEmbeddings: number;
}

/** The bags as `batch + 1` offsets into flat ids (docs/SPEC.md "Embedding bag"). */
function normalise(weight: Tensor, ids: Tensor, options: EmbeddingBagOptions): BagCall {
  const offsets =
    options.offsets === undefined
      ? undefined
      : asTensor('embeddingBag', 'offsets', options.offsets, true);
  const perSampleWeights =
    options.perSampleWeights === undefined
      ? undefined
      : asTensor('embeddingBag', 'perSampleWeights', options.perSampleWeights);
  const attrs = validateBagArgs({
    weightShape: weight.shape,
    weightDtype: weight.dtype,
    idsShape: ids.shape,
    idsDtype: ids.dtype,
    offsetsShape: offsets?.shape,
    offsetsDtype: offsets?.dtype,
    perSampleWeightsShape: perSampleWeights?.shape,
    perSampleWeightsDtype: perSampleWeights?.dtype,
    mode: options.mode,
    paddingId: options.paddingId,
    includeLastOffset: options.includeLastOffset,
  });
  const nnz = ids.size;
  let ends: Tensor;
  if (offsets === undefined) {
    // Padded [batch, bagLen]: bag b is ids[b * bagLen .. (b + 1) * bagLen).
    const [batch, bagLen] = ids.shape as [number, number];
    ends = bagLen > 0 ? range(0, batch * bagLen + 1, bagLen, 'int32') : zeros([batch + 1], 'int32');
  } else {
    ends = options.includeLastOffset ? offsets : concat([offsets, tensor1d([nnz], 'int32')]);
  }
  return {
    ids: ids.rank === 1 ? ids : reshape(ids, [nnz]),
    offsets: ends,
    // Kept in the ids' shape: it is a differentiated input, and a Reshape on the tape would need
    // tfjs's built-in gradients. The customGrad below flattens it off the tape.
    perSampleWeights,
    attrs,
    numEmbeddings: weight.shape[0]!,
  };
}

const fused = (kernel: string): boolean => getKernel(kernel, getBackend()) !== undefined;

/** Forward: the plugin kernel where the active backend has one, else built-in ops. */
function forward(weight: Tensor, call: BagCall): Tensor {
  if (!fused(EMBEDDING_BAG.kernelName)) {
    return compositeEmbeddingBag(weight, call.ids, call.offsets, call.perSampleWeights, call.attrs);
  }
  const inputs: Record<string, Tensor> = { weight, ids: call.ids, offsets: call.offsets };
  if (call.perSampleWeights) inputs['perSampleWeights'] = call.perSampleWeights;
  return engine().runKernel(EMBEDDING_BAG.kernelName, inputs, { ...call.attrs }) as Tensor;
}

/** d weight (and d perSampleWeights): the plugin's gradient kernels, else built-in ops. */
function backward(
  dy: Tensor,
  weight: Tensor | undefined,
  y: Tensor,
  ids: Tensor,
  offsets: Tensor,
  perSampleWeights: Tensor | undefined,
  call: BagCall,
): Tensor[] {
  const { attrs, numEmbeddings } = call;
  if (!fused(EMBEDDING_BAG.gradKernelName)) {
    return compositeEmbeddingBagGrads(
      dy,
      weight,
      y,
      ids,
      offsets,
      perSampleWeights,
      attrs,
      numEmbeddings,
    );
  }
  const inputs: Record<string, Tensor> = { dy, ids, offsets };
  if (perSampleWeights) inputs['perSampleWeights'] = perSampleWeights;
  if (attrs.mode === 'max') Object.assign(inputs, { weight: weight!, y });
  const dWeight = engine().runKernel(EMBEDDING_BAG.gradKernelName, inputs, {
    ...attrs,
    numEmbeddings,
  }) as Tensor;
  if (!perSampleWeights) return [dWeight];
  const dSample = engine().runKernel(
    EMBEDDING_BAG.sampleWeightsGradKernelName,
    { dy, weight: weight!, ids, offsets },
    { ...attrs },
  ) as Tensor;
  return [dWeight, dSample];
}

function embeddingBag_(
  weight: Tensor | TensorLike,
  ids: Tensor | TensorLike,
  options: EmbeddingBagOptions = {},
): Tensor2D {
  const $weight = asTensor('embeddingBag', 'weight', weight);
  const $ids = asTensor('embeddingBag', 'ids', ids, true);
  if (options === null || typeof options !== 'object') {
    throw new Error(`embeddingBag: options must be an object, got ${String(options)}`);
  }
  const call = normalise($weight, $ids, options);
  const psw = call.perSampleWeights;
  // The gradient through customGrad: it needs the saved ids and offsets (made inside this op, so
  // disposed when it returns) and, for mode 'max', the output; its inputs are the float tensors.
  const withGrad = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args[args.length - 1] as GradSaveFunc;
    const w = args[0] as Tensor;
    const flat = psw ? reshape(args[1] as Tensor, [call.ids.size]) : undefined;
    const value = forward(w, { ...call, perSampleWeights: flat });
    // The table is saved only where the gradient reads it (mode 'max', per-sample weights): a
    // saved tensor is a copy on some backends (wasm), and the table is the largest tensor here.
    const readsTable = call.attrs.mode === 'max' || flat !== undefined;
    save([value, call.ids, call.offsets, ...(flat ? [flat] : []), ...(readsTable ? [w] : [])]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [ys, is, os, ...rest] = saved as [Tensor, Tensor, Tensor, ...Tensor[]];
        const ps = flat ? rest.shift() : undefined;
        const ws = readsTable ? rest.shift() : undefined;
        const [dWeight, dSample] = backward(dy, ws, ys, is, os, ps, call);
        return dSample ? [dWeight!, reshape(dSample, psw!.shape)] : [dWeight!];
      },
    };
  });
  return (psw ? withGrad($weight, psw) : withGrad($weight)) as Tensor2D;
}

/**
 * PyTorch's `F.embedding_bag` for TensorFlow.js: looks up and reduces bags of ids in one pass,
 * without materialising `[batch, bagLen, dim]` (docs/SPEC.md "Embedding bag").
 *
 * `weight`: float32 `[numEmbeddings, dim]`. `ids`: int32 `[batch, bagLen]` (padded bags), or 1-D
 * with `options.offsets`. Returns float32 `[batch, dim]`. Padding ids are skipped; a bag with no
 * real id gives zeros in every mode. Gradients flow to `weight` (dense) and `perSampleWeights`.
 */
export const embeddingBag = op({ embeddingBag_ });
