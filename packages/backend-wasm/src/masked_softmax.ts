import {
  asSoftmaxAttrs,
  type MaskedSoftmaxGradInputs,
  type MaskedSoftmaxInputs,
  type MaskedSoftmaxRow,
  type SoftmaxGeometry,
  softmaxGeometry,
} from '@masked-ops/core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelModuleExports, SOFTMAX_EXP_WORDS } from './generated/wasm_modules.js';
import { CallHeap, heapMemory, offsetOf, type WasmBackendLike } from './heap.js';
import { kernelModule } from './modules.js';

/**
 * The merged dims as assembly/softmax.ts reads them: int32 [outerCount, innerCount, then the
 * (size, maskStride) pairs of the outer dims and of the inner dims, outermost first]. At most
 * 2 + 2 * rank numbers, whatever the size of the logits: the kernel finds each row's mask offset
 * from them, so the mask is never broadcast and no per-row table is built.
 */
function dimsTable(g: SoftmaxGeometry): Int32Array {
  const table = new Int32Array(2 + 2 * (g.outerDims.length + g.innerDims.length));
  table[0] = g.outerDims.length;
  table[1] = g.innerDims.length;
  let at = 2;
  for (const d of [...g.outerDims, ...g.innerDims]) {
    table[at++] = d.size;
    table[at++] = d.maskStride;
  }
  return table;
}

/**
 * One call of a softmax module over every row of `shape`: allocates the output (every element
 * written by the kernel: tfjs does not zero it) and the dims table for the call followed by
 * the kernel's scratch (a word per dim, then `scratchWords` words of the module's own), then
 * `run`s the module with the table's offset. Zero-size outputs are returned without running it.
 */
function runRows<M extends 'softmax' | 'softmaxGrad'>(
  module: M,
  scratchWords: number,
  backend: unknown,
  op: string,
  shape: number[],
  maskShape: number[],
  axis: number,
  run: (k: KernelModuleExports[M], g: SoftmaxGeometry, dims: number, out: number) => void,
): TensorInfo {
  const wasm = backend as WasmBackendLike;
  const g = softmaxGeometry(shape, maskShape, axis);
  const heap = new CallHeap(wasm, op);
  try {
    const out = heap.allocate(shape, 'float32', 'output');
    if (g.outer * g.n * g.inner === 0) return heap.keep(out);
    const dims = dimsTable(g);
    // The table, a digit per dim for the kernel's row cursor, then the module's scratch.
    const digits = g.outerDims.length + g.innerDims.length;
    const table = heap.allocate([dims.length + digits + scratchWords], 'int32', 'scratch');
    // A view made after the call's last allocation (a growth would have detached an older one).
    new Int32Array(heapMemory(wasm).buffer, table.offset, dims.length).set(dims);
    run(kernelModule(wasm, module), g, table.offset, out.offset);
    return heap.keep(out);
  } finally {
    heap.release();
  }
}

/** The forward kernel of a row of MASKED_SOFTMAXES (softmax or log-softmax, by `row.log`). */
export function maskedSoftmaxKernel(row: MaskedSoftmaxRow): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { logits, mask } = inputs as MaskedSoftmaxInputs;
    const { axis } = asSoftmaxAttrs(attrs);
    const wasm = backend as unknown as WasmBackendLike;
    return runRows(
      'softmax',
      SOFTMAX_EXP_WORDS,
      backend,
      row.op,
      logits.shape,
      mask.shape,
      axis,
      (k, g, dims, out) =>
        k.softmaxForward(
          row.log ? 1 : 0,
          offsetOf(wasm, logits),
          offsetOf(wasm, mask),
          out,
          dims,
          g.outer,
          g.n,
          g.inner,
          g.maskAxisStride,
        ),
    );
  };
}

/** The gradient kernel of a row: dx from dy, the mask and the forward output y. */
export function maskedSoftmaxGradKernel(row: MaskedSoftmaxRow): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, mask, y } = inputs as MaskedSoftmaxGradInputs;
    const { axis } = asSoftmaxAttrs(attrs);
    const wasm = backend as unknown as WasmBackendLike;
    return runRows(
      'softmaxGrad',
      0,
      backend,
      `${row.op} gradient`,
      y.shape,
      mask.shape,
      axis,
      (k, g, dims, out) =>
        k.softmaxGrad(
          row.log ? 1 : 0,
          offsetOf(wasm, dy),
          offsetOf(wasm, mask),
          offsetOf(wasm, y),
          out,
          dims,
          g.outer,
          g.n,
          g.inner,
          g.maskAxisStride,
        ),
    );
  };
}
