/**
 * The mask read four bytes at a time. A bool mask holds one byte per position, 0 or 1, so a 32-bit
 * word holds the flags of four positions: the fast loops of the sums and extrema load one word
 * per four positions, count its valid positions with one multiply (validIn) and take each
 * position's flag by a shift, and skip x where a word (or two) is all padding.
 */

/** Whether typed arrays are little-endian here: byte k of a word is then bits 8k..8k+7. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

const views = new WeakMap<Uint8Array, Uint32Array>();

/**
 * The mask's bytes as 32-bit words (word w = bytes 4w..4w+3), or undefined when its bytes do not
 * start at a multiple of 4 in their buffer (a typed array view cannot then be made over them) or
 * the platform is big-endian (the shifts below assume byte k in bits 8k). Cached per mask: a
 * reduction calls this once per run.
 */
export function maskWords(valid: Uint8Array): Uint32Array | undefined {
  let words = views.get(valid);
  if (words === undefined) {
    if (!LITTLE_ENDIAN || valid.byteOffset % 4 !== 0) return undefined;
    words = new Uint32Array(valid.buffer, valid.byteOffset, valid.length >> 2);
    views.set(valid, words);
  }
  return words;
}

/** The valid positions of a word of four 0/1 bytes: the multiply adds the bytes into the top one. */
export const validIn = (w: number): number => Math.imul(w, 0x01010101) >>> 24;
