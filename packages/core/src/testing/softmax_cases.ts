import { randomFloats, seededRandom } from './random.js';

/**
 * The masked softmaxes' conformance cases (docs/SPEC.md "Masked softmax"): every broadcast
 * pattern of attention (key padding, causal, a [Lk] mask, the full shape), every mask dtype, rows
 * of length 1 and 4,096, rows with no valid position, logits a naive exp would overflow, NaN/Inf
 * under the mask and valid, zero-size dims, axes other than the last, and seeded random cases.
 */
export interface SoftmaxCase {
  name: string;
  logitsShape: number[];
  logits: Float32Array;
  maskShape: number[];
  mask: number[];
  maskDtype: 'bool' | 'int32' | 'float32';
  /** As the user passes it (default -1). */
  axis?: number;
  /** The cotangent of the output (the logits' shape). */
  dy: Float32Array;
  /** A case about structure (broadcasts, dtypes, empty rows, zero-size) rather than values. */
  structural?: boolean;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Key padding: `[B, 1, 1, L]` with each batch's number of real keys. */
const keyPadding = (lengths: number[], l: number): number[] =>
  lengths.flatMap((len) => Array.from({ length: l }, (_, k) => (k < len ? 1 : 0)));

const causal = (l: number): number[] =>
  Array.from({ length: l * l }, (_, i) => (i % l <= Math.floor(i / l) ? 1 : 0));

function make(
  name: string,
  logitsShape: number[],
  maskShape: number[],
  mask: number[],
  options: {
    seed: number;
    logits?: number[] | Float32Array;
    scale?: number;
    maskDtype?: SoftmaxCase['maskDtype'];
    axis?: number;
    structural?: boolean;
    /** dy at masked positions (must not leak into the valid ones' gradient). */
    maskedDy?: number;
  },
): SoftmaxCase {
  const rand = seededRandom(options.seed);
  const n = size(logitsShape);
  const s = options.scale ?? 4;
  const logits = options.logits ? Float32Array.from(options.logits) : randomFloats(rand, n, -s, s);
  const dy = randomFloats(rand, n, -1, 1);
  if (options.maskedDy !== undefined) {
    // Broadcast the mask by hand (the reference does it again, independently).
    const lead = logitsShape.length - maskShape.length;
    for (let i = 0; i < n; i++) {
      let rest = i;
      let m = 0;
      const idx: number[] = [];
      for (let d = logitsShape.length - 1; d >= 0; d--) {
        idx[d] = rest % logitsShape[d]!;
        rest = Math.floor(rest / logitsShape[d]!);
      }
      maskShape.forEach((d, k) => {
        m = m * d + (d === 1 ? 0 : idx[lead + k]!);
      });
      if (mask[m] === 0) dy[i] = options.maskedDy;
    }
  }
  const c: SoftmaxCase = {
    name,
    logitsShape,
    logits,
    maskShape,
    mask,
    maskDtype: options.maskDtype ?? 'bool',
    dy,
  };
  if (options.axis !== undefined) c.axis = options.axis;
  if (options.structural) c.structural = true;
  return c;
}

/** A random mask of `shape` with each element valid with probability `density`. */
const randomMaskOf = (seed: number, n: number, density: number): number[] => {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => (rand() < density ? 1 : 0));
};

/**
 * Row lengths of a padded batch whose valid prefixes end before, at and after steps of 16 (where
 * vectorised kernels find a row's end), and the row's full length.
 */
const PADDED_LENGTHS = [0, 1, 15, 16, 17, 33, 64, 77];

/** Random logits with NaN, +Inf and -Inf in turn at each row's padded positions (k >= length). */
function paddedLogits(rand: () => number, lengths: number[], l: number): Float32Array {
  const logits = randomFloats(rand, lengths.length * l, -4, 4);
  const poison = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  lengths.forEach((len, r) => {
    for (let k = len; k < l; k++) logits[r * l + k] = poison[k % 3]!;
  });
  return logits;
}

export function softmaxCases(): SoftmaxCase[] {
  const cases: SoftmaxCase[] = [
    make(
      'key padding [B,1,1,Lk] over [B,H,Lq,Lk]',
      [2, 3, 4, 5],
      [2, 1, 1, 5],
      keyPadding([3, 5], 5),
      {
        seed: 1,
        structural: true,
      },
    ),
    make(
      'key padding with an all-padding batch: its rows are zeros',
      [2, 2, 3, 4],
      [2, 1, 1, 4],
      keyPadding([0, 2], 4),
      {
        seed: 2,
        structural: true,
      },
    ),
    make('causal [Lq,Lk] over [B,H,Lq,Lk]', [2, 2, 4, 4], [4, 4], causal(4), {
      seed: 3,
      structural: true,
    }),
    make('a [Lk] mask over [B,Lk]', [3, 6], [6], [1, 1, 0, 1, 0, 1], { seed: 4, structural: true }),
    make(
      'full mask with an empty and a full row',
      [4, 7],
      [4, 7],
      [
        ...[0, 0, 0, 0, 0, 0, 0],
        ...[1, 1, 1, 1, 1, 1, 1],
        ...[1, 0, 1, 0, 1, 0, 1],
        ...[0, 0, 0, 1, 0, 0, 0],
      ],
      { seed: 5, structural: true },
    ),
    make('int32 mask (non-zero = valid)', [2, 5], [2, 5], [2, 0, -1, 0, 7, 0, 0, 3, 0, 1], {
      seed: 6,
      maskDtype: 'int32',
      structural: true,
    }),
    make(
      'float32 mask (non-zero = valid, -0.5 too)',
      [2, 5],
      [2, 5],
      [0.5, 0, -0.5, 0, 1, 0, 0, 1, 0, 0],
      {
        seed: 7,
        maskDtype: 'float32',
        structural: true,
      },
    ),
    make(
      'axis 1 of 3, mask broadcast along the last dim',
      [3, 5, 2],
      [3, 5, 1],
      randomMaskOf(8, 15, 0.6),
      {
        seed: 8,
        axis: 1,
        structural: true,
      },
    ),
    make('axis 0, mask [1, 4] over [5, 4]', [5, 4], [1, 4], [1, 0, 1, 1], {
      seed: 9,
      axis: 0,
      structural: true,
    }),
    make('mask of size 1 along the axis: whole rows valid or not', [3, 5], [3, 1], [1, 0, 1], {
      seed: 10,
      structural: true,
    }),
    make('a scalar-like mask [1] over [2,3]', [2, 3], [1], [1], { seed: 11, structural: true }),
    make('rows of length 1', [5, 1], [5, 1], [1, 0, 1, 1, 0], { seed: 12, structural: true }),
    make(
      'rows of length 4,096 (key padding 4,096 and 1,000)',
      [2, 4096],
      [2, 4096],
      keyPadding([4096, 1000], 4096),
      {
        seed: 13,
        scale: 10,
      },
    ),
    make(
      'padded rows of lengths 0 to 77: tails across steps of 16, NaN/±Inf in the padding',
      [8, 77],
      [8, 77],
      keyPadding(PADDED_LENGTHS, 77),
      {
        seed: 20,
        logits: paddedLogits(seededRandom(21), PADDED_LENGTHS, 77),
        maskedDy: Number.NaN,
      },
    ),
    make('zero-size batch', [0, 5], [5], [1, 1, 0, 1, 1], { seed: 14, structural: true }),
    make('rows of length 0', [3, 0], [3, 0], [], { seed: 15, structural: true }),
    make('zero-size inner dim, axis 0', [2, 0, 4], [2, 1, 4], [1, 0, 1, 1, 0, 1, 1, 1], {
      seed: 16,
      axis: 0,
      structural: true,
    }),
    make(
      'huge logits (1e30, -1e30, 3e38) a naive exp overflows',
      [3, 4],
      [3, 4],
      [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1],
      {
        seed: 17,
        logits: [1e30, 1e30, 1e30 - 1e24, 5, -1e30, 1e30, 0, -3e38, 3e38, 3e38, -3e38, 1e38],
      },
    ),
    make(
      'NaN and ±Inf under the mask never leak (dy NaN there too)',
      [3, 4],
      [3, 4],
      [1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0],
      {
        seed: 18,
        logits: [
          1,
          Number.NaN,
          2,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          3,
          Number.NaN,
          -1,
          0.5,
          0.25,
          Number.POSITIVE_INFINITY,
          Number.NaN,
        ],
        maskedDy: Number.NaN,
        structural: true,
      },
    ),
    make(
      'a valid NaN or +Inf makes the row NaN; a valid -Inf gets 0; all valid -Inf is a zero row',
      [4, 3],
      [4, 3],
      [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
      {
        seed: 19,
        logits: [
          ...[1, Number.NaN, 5],
          ...[Number.POSITIVE_INFINITY, 2, 3],
          ...[Number.NEGATIVE_INFINITY, 0, 1],
          ...[Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 7],
        ],
        structural: true,
      },
    ),
  ];
  // Seeded random: random shapes, axes and broadcast patterns (each mask dim 1 or the logits').
  const rand = seededRandom(1414);
  for (let r = 0; r < 8; r++) {
    const rank = 1 + Math.floor(rand() * 4);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(rand() * 7));
    const maskRank = 1 + Math.floor(rand() * rank);
    const maskShape = shape.slice(rank - maskRank).map((d) => (rand() < 0.4 ? 1 : d));
    const axis = Math.floor(rand() * rank) - (rand() < 0.5 ? rank : 0);
    const mask = randomMaskOf(2000 + r, size(maskShape), 0.3 + 0.6 * rand());
    cases.push(
      make(
        `random ${r}: logits [${shape}], mask [${maskShape}], axis ${axis}`,
        shape,
        maskShape,
        mask,
        {
          seed: 3000 + r,
          axis,
          scale: 1 + 20 * rand(),
        },
      ),
    );
  }
  return cases;
}
