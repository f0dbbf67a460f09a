import { type EmbeddingBagMode, embeddingBag } from '@masked-ops/core';
import { cast, type serialization, type Tensor, tidy } from '@tensorflow/tfjs-core';
import { InputSpec, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { assertOwnTensor } from './one_copy.js';
import {
  exactlyOne,
  type Kwargs,
  type LayerArgs,
  NO_MASK,
  oneMask,
  type Shape,
  shapeString,
} from './types.js';
import {
  type Constraint,
  type ConstraintArg,
  getConstraint,
  getInitializer,
  getRegularizer,
  type Initializer,
  type InitializerArg,
  type Regularizer,
  type RegularizerArg,
  serializeWeightArg,
} from './weight_args.js';

export interface EmbeddingBagLayerArgs extends LayerArgs {
  /** Rows of the table: the vocabulary size (ids are in `[0, inputDim)`). A positive integer. */
  inputDim: number;
  /** Width of each row, and of the output. A positive integer. */
  outputDim: number;
  /** How a bag's rows combine: `'mean'` (default), `'sum'` or `'max'` (per column). */
  mode?: EmbeddingBagMode;
  /**
   * The id that marks padding (skipped: not counted, never the max, no gradient). Negative values
   * count from the end (`-1` is row `inputDim - 1`), as PyTorch's `padding_idx`. Default: none.
   */
  paddingId?: number | null;
  /** Initializer of the table. Default `'randomUniform'` (-0.05..0.05), as tfjs's `Embedding`. */
  embeddingsInitializer?: InitializerArg;
  /** Regularizer of the table: its penalty is added to the model's loss. */
  embeddingsRegularizer?: RegularizerArg;
  /** Constraint of the table, applied where tfjs-layers applies weight constraints. */
  embeddingsConstraint?: ConstraintArg;
}

const MODES: readonly EmbeddingBagMode[] = ['sum', 'mean', 'max'];

const positiveInteger = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * A bag-of-ids embedding: each row of ids `[batch, bagLen]` looks up its rows of the table and
 * reduces them to one vector, output `[batch, outputDim]`. PyTorch's `nn.EmbeddingBag` (and
 * `F.embedding_bag`) for tfjs-layers, built on `embeddingBag` of @masked-ops/core: the natural
 * layer for a multi-valued categorical field (a DeepFM field such as "genres" or "recent item
 * ids"), where `Embedding` -> pooling would first build the `[batch, bagLen, outputDim]` tensor.
 *
 * Bags are right-padded (or padded anywhere) with `paddingId`, which is skipped; a bag with no
 * real id gives zeros in every mode. The trainable table is `embeddings` `[inputDim, outputDim]`,
 * with tfjs `Embedding`'s initializer (default `'randomUniform'`), regularizer and constraint
 * arguments. The gradient reaches only the rows of real ids.
 *
 * Inputs are cast to int32 as tfjs's `Embedding` does: a model's `Input` is float32 unless told
 * otherwise, so `model.predict(tf.tensor2d(ids))` works. The layer produces no mask (the padding
 * is consumed in the bag), and takes none: padding is marked by `paddingId`.
 */
export class EmbeddingBag extends layers.Layer {
  /** @nocollapse */
  static className = 'EmbeddingBag';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly mode: EmbeddingBagMode;
  /** As configured (possibly negative), or null for none. */
  readonly paddingId: number | null;
  readonly embeddingsInitializer: Initializer;
  readonly embeddingsRegularizer: Regularizer | null;
  readonly embeddingsConstraint: Constraint | null;
  private embeddings: LayerVariable | null = null;

  constructor(args: EmbeddingBagLayerArgs) {
    super(args ?? {});
    const name = this.getClassName();
    if (args == null || typeof args !== 'object') {
      throw new Error(`${name}: expected an object with inputDim and outputDim, got ${args}`);
    }
    // As tfjs's Embedding: without an input shape, the layer takes [batch, any bagLen], so it can
    // start a Sequential model. The dtype as the base sets it with a shape, so that a saved config
    // (which then has batchInputShape) rebuilds a layer with the same config.
    if (args.batchInputShape == null && args.inputShape == null) {
      this.batchInputShape = [args.batchSize ?? null, null];
      this.dtype = args.dtype ?? args.inputDType ?? 'float32';
    }
    if (!positiveInteger(args.inputDim)) {
      throw new Error(`${name}: inputDim must be a positive integer, got ${String(args.inputDim)}`);
    }
    if (!positiveInteger(args.outputDim)) {
      throw new Error(
        `${name}: outputDim must be a positive integer, got ${String(args.outputDim)}`,
      );
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    const mode = args.mode ?? 'mean';
    if (!MODES.includes(mode)) {
      throw new Error(`${name}: mode must be 'sum', 'mean' or 'max', got ${JSON.stringify(mode)}`);
    }
    this.mode = mode;
    const pad = args.paddingId ?? null;
    if (
      pad !== null &&
      !(
        typeof pad === 'number' &&
        Number.isInteger(pad) &&
        pad >= -args.inputDim &&
        pad < args.inputDim
      )
    ) {
      throw new Error(
        `${name}: paddingId must be an integer in [${-args.inputDim}, ${args.inputDim}) ` +
          `(inputDim ${args.inputDim}), got ${String(pad)}`,
      );
    }
    this.paddingId = pad;
    // tfjs-layers' Layer.apply throws NotImplementedError whenever activityRegularizer is set, so
    // accepting one (tfjs's Embedding does) would only move the error to the first call.
    const activity = (args as { activityRegularizer?: unknown }).activityRegularizer;
    if (activity != null) {
      throw new Error(
        `${name}: activityRegularizer is not supported (tfjs-layers cannot apply activity ` +
          'regularizers); use embeddingsRegularizer',
      );
    }
    this.embeddingsInitializer = getInitializer(
      args.embeddingsInitializer ?? 'randomUniform',
      name,
      'embeddingsInitializer',
    );
    this.embeddingsRegularizer = getRegularizer(
      args.embeddingsRegularizer,
      name,
      'embeddingsRegularizer',
    );
    this.embeddingsConstraint = getConstraint(
      args.embeddingsConstraint,
      name,
      'embeddingsConstraint',
    );
    this.inputSpec = [new InputSpec({ ndim: 2 })];
  }

  override build(_inputShape: Shape | Shape[]): void {
    // float32 whatever the layer's dtype: the table is what embeddingBag reduces, and a layer
    // dtype of 'int32' only says what its ids input is.
    this.embeddings = this.addWeight(
      'embeddings',
      [this.inputDim, this.outputDim],
      'float32',
      this.embeddingsInitializer,
      this.embeddingsRegularizer ?? undefined,
      true,
      this.embeddingsConstraint ?? undefined,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (
      Array.isArray(inputShape[0])
        ? exactlyOne(inputShape as Shape[], 'input', this.name)
        : inputShape
    ) as Shape;
    if (shape.length !== 2) {
      throw new Error(
        `${this.name}: EmbeddingBag expects ids of shape [batch, bagLen], got ${shapeString(shape)}`,
      );
    }
    return [shape[0] ?? null, this.outputDim];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    this.invokeCallHook(inputs, kwargs);
    const x = exactlyOne(inputs, 'input tensor', this.name);
    assertOwnTensor(x, this.name);
    return tidy(() => {
      // Float ids from a float32 Input (tfjs's default) truncate to the same integers, as in
      // tfjs's Embedding.
      const ids = x.dtype === 'int32' ? x : cast(x, 'int32');
      const options =
        this.paddingId === null
          ? { mode: this.mode }
          : { mode: this.mode, paddingId: this.paddingId };
      return embeddingBag(this.embeddings!.read(), ids, options);
    });
  }

  /** No output mask: the padding is consumed in the bags. No input mask either (see the class). */
  override computeMask(_inputs: Tensor | Tensor[], mask?: Tensor | Tensor[]): Tensor {
    if (oneMask(mask) != null) {
      throw new Error(
        `${this.name}: EmbeddingBag takes no mask; mark padding ids with paddingId instead`,
      );
    }
    return NO_MASK;
  }

  /**
   * tfjs `Embedding`'s keys (without `maskZero`, `inputLength` and `activityRegularizer`) plus
   * `mode` and `paddingId` (null for none), then the base keys.
   */
  override getConfig(): serialization.ConfigDict {
    return {
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      mode: this.mode,
      paddingId: this.paddingId,
      embeddingsInitializer: serializeWeightArg(this.embeddingsInitializer),
      embeddingsRegularizer: serializeWeightArg(this.embeddingsRegularizer),
      embeddingsConstraint: serializeWeightArg(this.embeddingsConstraint),
      ...super.getConfig(),
    };
  }
}

/**
 * An {@link EmbeddingBag} layer (named so as not to clash with @masked-ops/core's `embeddingBag`
 * op).
 *
 * ```js
 * const genres = tf.input({shape: [maxGenres]});        // ids, padded with 0
 * const pooled = embeddingBagLayer({inputDim: 1000, outputDim: 8, paddingId: 0}).apply(genres);
 * ```
 */
export function embeddingBagLayer(args: EmbeddingBagLayerArgs): EmbeddingBag {
  return new EmbeddingBag(args);
}
