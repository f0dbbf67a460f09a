import type { Tensor } from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';

/**
 * tfjs-layers' `LayerArgs` and `Kwargs`, taken from the public `Layer` class so that no import
 * reaches into tfjs-layers' `dist/` internals.
 */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
export type Kwargs = Parameters<layers.Layer['call']>[1];
/** A layer shape: `null` for an unknown dimension (the batch). */
export type Shape = (number | null)[];

/** tfjs spelling, plus the Keras spelling a hand-written config may carry. */
export type DataFormat = 'channelsFirst' | 'channelsLast';
export type DataFormatArg = DataFormat | 'channels_first' | 'channels_last';

export function normalizeDataFormat(value: DataFormatArg | undefined, layer: string): DataFormat {
  if (value == null || value === 'channelsLast' || value === 'channels_last') return 'channelsLast';
  if (value === 'channelsFirst' || value === 'channels_first') return 'channelsFirst';
  throw new Error(
    `${layer}: dataFormat must be 'channelsLast' or 'channelsFirst', got ${JSON.stringify(value)}`,
  );
}

export function exactlyOne<T>(value: T | T[], what: string, layer: string): T {
  if (!Array.isArray(value)) return value;
  if (value.length !== 1) {
    throw new Error(`${layer}: expected exactly one ${what}, got ${value.length}`);
  }
  return value[0]!;
}

/** The mask a layer received (`kwargs.mask`, or `computeMask`'s argument), or null. */
export function oneMask(mask: Tensor | Tensor[] | null | undefined): Tensor | null {
  if (mask == null) return null;
  if (Array.isArray(mask)) return mask.length === 0 ? null : (mask[0] ?? null);
  return mask;
}

export const shapeString = (shape: readonly (number | null)[]): string =>
  `[${shape.map((d) => (d == null ? 'null' : String(d))).join(', ')}]`;

/**
 * "No mask", as `computeMask` returns it. tfjs-layers' typings say `computeMask` returns a tensor,
 * but tfjs itself returns null for "no mask" (its sources are compiled without strict null checks).
 */
export const NO_MASK = null as unknown as Tensor;
