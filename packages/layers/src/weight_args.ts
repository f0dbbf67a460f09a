import { serialization } from '@tensorflow/tfjs-core';
import type { constraints, initializers, layers, regularizers } from '@tensorflow/tfjs-layers';

/*
 * A weight's initializer, regularizer and constraint as a layer config gives them: an instance, a
 * name ('randomUniform', 'l1l2', 'nonNeg', or a registered class name), or a serialized
 * `{className, config}` dict (what `getConfig` writes and a saved model carries). tfjs-layers
 * resolves these with `getInitializer` / `getRegularizer` / `getConstraint`, which it does not
 * export (only `dist/` internals have them, and a deep import would load a second copy of
 * tfjs-layers under the CommonJS build). The functions below do the same through the public
 * `serialization.SerializationMap`, where tfjs-layers registers every one of those classes, so a
 * config resolves to the same objects as in tfjs's own layers (and custom classes registered with
 * `tf.serialization.registerClass` work too).
 */

/** tfjs-layers' argument types, taken from its public `Embedding` factory. */
type EmbeddingArgs = Parameters<typeof layers.embedding>[0];
/** The `{className, config}` form `getConfig` writes (and tfjs's own resolvers accept too). */
export interface SerializedWeightArg {
  className: string;
  config?: serialization.ConfigDict;
}
export type InitializerArg =
  | NonNullable<EmbeddingArgs['embeddingsInitializer']>
  | SerializedWeightArg;
export type RegularizerArg =
  | NonNullable<EmbeddingArgs['embeddingsRegularizer']>
  | SerializedWeightArg;
export type ConstraintArg =
  | NonNullable<EmbeddingArgs['embeddingsConstraint']>
  | SerializedWeightArg;
export type Initializer = ReturnType<typeof initializers.ones>;
export type Regularizer = ReturnType<typeof regularizers.l1l2>;
export type Constraint = ReturnType<typeof constraints.nonNeg>;

/** The names tfjs accepts besides class names (its `*_IDENTIFIER_REGISTRY_SYMBOL_MAP`s). */
const ALIASES = {
  initializer: {
    constant: 'Constant',
    glorotNormal: 'GlorotNormal',
    glorotUniform: 'GlorotUniform',
    heNormal: 'HeNormal',
    heUniform: 'HeUniform',
    identity: 'Identity',
    leCunNormal: 'LeCunNormal',
    leCunUniform: 'LeCunUniform',
    ones: 'Ones',
    orthogonal: 'Orthogonal',
    randomNormal: 'RandomNormal',
    randomUniform: 'RandomUniform',
    truncatedNormal: 'TruncatedNormal',
    varianceScaling: 'VarianceScaling',
    zeros: 'Zeros',
  },
  regularizer: { l1l2: 'L1L2' },
  constraint: {
    maxNorm: 'MaxNorm',
    minMaxNorm: 'MinMaxNorm',
    nonNeg: 'NonNeg',
    unitNorm: 'UnitNorm',
  },
} as const satisfies Record<string, Record<string, string>>;

type Kind = keyof typeof ALIASES;

/**
 * Initializers that tfjs builds with `new Class()` when named by a string (its `getInitializer`
 * special-cases them), so that their `seed` is null, not undefined, in the config they write.
 */
const NO_ARGUMENT_INITIALIZERS = new Set([
  'GlorotNormal',
  'GlorotUniform',
  'HeNormal',
  'HeUniform',
  'LeCunNormal',
  'LeCunUniform',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `{className, config}`: a serialized object (anything else that is an object is an instance). */
const isSerialized = (v: Record<string, unknown>): boolean =>
  typeof v['className'] === 'string' && typeof (v as { apply?: unknown }).apply !== 'function';

function resolve(kind: Kind, identifier: unknown, layer: string, key: string): unknown {
  let className: string;
  let config: serialization.ConfigDict;
  if (typeof identifier === 'string') {
    className = (ALIASES[kind] as Record<string, string>)[identifier] ?? identifier;
    config = {};
  } else if (isRecord(identifier) && isSerialized(identifier)) {
    className = identifier['className'] as string;
    const given = identifier['config'];
    if (given != null && !isRecord(given)) {
      throw new Error(
        `${layer}: ${key} has a config that is not an object: ${JSON.stringify(identifier)}`,
      );
    }
    // A copy: tfjs's constructors may keep or change the dict they are given.
    config = { ...((given ?? {}) as serialization.ConfigDict) };
  } else if (isRecord(identifier) && typeof identifier['apply'] === 'function') {
    return identifier;
  } else {
    throw new Error(
      `${layer}: ${key} must be a ${kind}, its name or its {className, config}, got ${String(identifier)}`,
    );
  }
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry == null) {
    throw new Error(
      `${layer}: unknown ${kind} ${JSON.stringify(className)} for ${key} (a name such as ` +
        `${Object.keys(ALIASES[kind])
          .slice(0, 3)
          .map((n) => `'${n}'`)
          .join(', ')}, or a class registered with tf.serialization.registerClass)`,
    );
  }
  const [cls, fromConfig] = entry;
  if (typeof identifier === 'string' && kind === 'initializer') {
    if (NO_ARGUMENT_INITIALIZERS.has(className)) return new (cls as unknown as new () => unknown)();
  }
  return fromConfig(cls, config);
}

export function getInitializer(identifier: unknown, layer: string, key: string): Initializer {
  return resolve('initializer', identifier, layer, key) as Initializer;
}

export function getRegularizer(
  identifier: unknown,
  layer: string,
  key: string,
): Regularizer | null {
  return identifier == null
    ? null
    : (resolve('regularizer', identifier, layer, key) as Regularizer);
}

export function getConstraint(identifier: unknown, layer: string, key: string): Constraint | null {
  return identifier == null ? null : (resolve('constraint', identifier, layer, key) as Constraint);
}

/** `{className, config}`, or null: the form `getConfig` writes (tfjs's `serializeKerasObject`). */
export function serializeWeightArg(
  instance: serialization.Serializable | null,
): serialization.ConfigDictValue {
  return instance == null
    ? null
    : { className: instance.getClassName(), config: instance.getConfig() };
}
