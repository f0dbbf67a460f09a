/** "64x50x16,8x1000x8" -> [[64,50,16],[8,1000,8]]; the CLI and the page read shapes the same way. */
export function parseShapes(text: string): number[][] {
  return text
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((s) => {
      const dims = s.split('x').map(Number);
      if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new Error(`bad shape "${s}": expected BxTxF, e.g. 64x50x16`);
      }
      return dims;
    });
}
