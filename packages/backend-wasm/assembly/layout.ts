// Where the reduced positions of one output row are, for both kernel modules (docs/SPEC.md
// "Geometry"; maskedGeometry in @masked-ops/core). x is [...maskShape, inner]: one mask byte
// selects a row of `inner` floats. The reduced positions of an output row are `segments`
// segments of `rows` rows each, `stride` mask positions apart (the innermost reduced run);
// segment k starts at segmentStart(k) from the row's base (the other reduced runs, an odometer
// decomposed from k). Contiguous reduced axes are one segment: x [outer, reduce, mid, inner].
//
// The layout is module state, set once per call by the exported kernel: it keeps the row loops'
// argument lists short. Every pointer is a byte offset into tfjs's heap. x is read by the forward
// modules and by the gradient of extrema; the gradient writes dx in x's layout.

export let xBase: usize = 0;
export let maskBase: usize = 0;
/** Floats per mask position. */
export let inner: usize = 0;
/** (size, maskStride) u32 pairs of the reduced runs other than the innermost, outermost first. */
let outerRuns: usize = 0;
let outerRunCount: u32 = 0;
export let segments: u32 = 1;
export let rows: u32 = 0;
/** Mask stride of the innermost reduced run. */
export let stride: usize = 0;
/** Reduced positions per output row: segments * rows. */
export let total: u32 = 0;

/** Contiguous reduced axes: one segment of `reduce` rows, `mid` mask positions apart. */
export function setBlocks(x: usize, mask: usize, n: u32, reduce: u32, mid: u32): void {
  xBase = x;
  maskBase = mask;
  inner = <usize>n;
  outerRuns = 0;
  outerRunCount = 0;
  segments = 1;
  rows = reduce;
  stride = <usize>mid;
  total = reduce;
}

/**
 * Any run layout. `runs` holds u32s: [K, R, then K (size, maskStride) pairs of the kept runs and
 * R >= 1 pairs of the reduced runs, outermost first]. Returns the number of output rows.
 */
export function setRuns(x: usize, mask: usize, n: u32, runs: usize): u32 {
  const keptCount = load<u32>(runs);
  const reducedCount = load<u32>(runs, 4);
  const kept = runs + 8;
  const reduced = kept + ((<usize>keptCount) << 3);
  const innermost = reduced + ((<usize>(reducedCount - 1)) << 3);
  xBase = x;
  maskBase = mask;
  inner = <usize>n;
  outerRuns = reduced;
  outerRunCount = reducedCount - 1;
  segments = product(reduced, reducedCount - 1);
  rows = load<u32>(innermost);
  stride = <usize>load<u32>(innermost, 4);
  total = segments * rows;
  keptRuns = kept;
  keptRunCount = keptCount;
  return product(kept, keptCount);
}

let keptRuns: usize = 0;
let keptRunCount: u32 = 0;

function product(runs: usize, count: u32): u32 {
  let p: u32 = 1;
  for (let j: u32 = 0; j < count; j++) p *= load<u32>(runs + ((<usize>j) << 3));
  return p;
}

/** Mask offset of flat index `k` over `count` runs (row-major, outermost first). */
function decompose(k: u32, runs: usize, count: u32): usize {
  let off: usize = 0;
  for (let j = <i32>count - 1; j >= 0; j--) {
    const p = runs + ((<usize>j) << 3);
    const size = load<u32>(p);
    off += <usize>(k % size) * <usize>load<u32>(p, 4);
    k /= size;
  }
  return off;
}

/** Mask offset of the first position of output row `row` = o * mid + m in a block layout. */
export function blockBase(row: usize): usize {
  const mid = stride;
  return (row / mid) * <usize>rows * mid + (row % mid);
}

/** Mask offset of output row `o` in a run layout (setRuns). */
export function keptBase(o: u32): usize {
  return decompose(o, keptRuns, keptRunCount);
}

/** Mask offset of segment `k` from its row's base. */
export function segmentStart(k: u32): usize {
  return decompose(k, outerRuns, outerRunCount);
}

/** Valid positions among the reduced positions of the row at mask offset `base`. */
export function countValid(base: usize): u32 {
  let count: u32 = 0;
  let runs: u32 = 0;
  for (let k: u32 = 0; k < segments; k++) {
    let mp = maskBase + base + segmentStart(k);
    let previous: u32 = 0;
    for (let r: u32 = 0; r < rows; r++) {
      const valid = <u32>(load<u8>(mp) !== 0);
      count += valid;
      runs += valid & ~previous;
      previous = valid;
      mp += stride;
    }
  }
  validRuns = runs;
  return count;
}

/** The runs of consecutive valid positions in the slice countValid last counted. */
export let validRuns: u32 = 0;

/** Lanes all-ones where the 4 mask bytes at `p` are non-zero, else all-zeros. */
export function maskLanes(p: usize): v128 {
  const bytes = v128.load32_zero(p);
  const wide = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(bytes));
  return i32x4.ne(wide, i32x4.splat(0));
}

/** The total of a vector of counts kept by subtracting maskLanes (all-ones is -1) per step. */
export function laneCount(cnt: v128): u32 {
  return <u32>(
    (i32x4.extract_lane(cnt, 0) +
      i32x4.extract_lane(cnt, 1) +
      i32x4.extract_lane(cnt, 2) +
      i32x4.extract_lane(cnt, 3))
  );
}

/** dst[i] = value for `n` floats. */
export function fillRow(dst: usize, n: usize, value: f32): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const v = f32x4.splat(value);
    for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), v);
  }
  for (; i < n; i++) store<f32>(dst + (i << 2), value);
}
