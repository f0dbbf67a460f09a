/**
 * The mask read four bytes at a time. A bool mask holds one byte per position, 0 or 1, so a 32-bit
 * word equal to ALL_VALID is four valid positions: the fast loops of the sums and extrema check a
 * word (or two) and add or compare the values with no per-position mask load, multiplication or
 * selection, and fall back to bytes where a word holds padding. This is what makes a masked sum
 * over a full mask as fast as tfjs's unmasked one (one float64 add chain per value otherwise).
 */
export const ALL_VALID = 0x01010101;

const views = new WeakMap<Uint8Array, Uint32Array>();

/**
 * The mask's bytes as 32-bit words (word w = bytes 4w..4w+3), or undefined when its bytes do not
 * start at a multiple of 4 in their buffer (a typed array view cannot then be made over them).
 * Cached per mask: a reduction calls this once per output row.
 */
export function maskWords(valid: Uint8Array): Uint32Array | undefined {
  let words = views.get(valid);
  if (words === undefined) {
    if (valid.byteOffset % 4 !== 0) return undefined;
    words = new Uint32Array(valid.buffer, valid.byteOffset, valid.length >> 2);
    views.set(valid, words);
  }
  return words;
}
