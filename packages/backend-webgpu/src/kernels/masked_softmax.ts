import { asSoftmaxAttrs, type MaskedSoftmaxRow, softmaxGeometry } from '@masked-ops/core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MaskedSoftmaxProgram, type SoftmaxTask } from '../programs/softmax.js';
import { run } from '../run.js';

/**
 * One driver for both rows of core's MASKED_SOFTMAXES (told apart by `log`), forward and
 * gradient: one dispatch of programs/softmax.ts per call, reading the mask by its broadcast
 * strides, no intermediate tensor. Zero-size logits return an empty tensor (nothing to read).
 */
function softmaxKernel(kind: SoftmaxTask['kind'], row: MaskedSoftmaxRow): KernelFunc {
  return ({ inputs, backend, attrs }): TensorInfo => {
    // Core's MaskedSoftmaxInputs {logits, mask} / MaskedSoftmaxGradInputs {dy, mask, y}.
    const named = inputs as Record<string, TensorInfo>;
    const { axis } = asSoftmaxAttrs(attrs);
    const webgpu = backend as WebGPUBackend;
    const values = kind === 'forward' ? ['logits', 'mask'] : ['dy', 'mask', 'y'];
    const shape = named[values[0]!]!.shape;
    const g = softmaxGeometry(shape, named['mask']!.shape, axis);
    if (g.outer * g.n * g.inner === 0) {
      return webgpu.makeTensorInfo(shape, 'float32', new Float32Array(0));
    }
    const program = new MaskedSoftmaxProgram({ kind, log: row.log }, g);
    const out = run(
      webgpu,
      program,
      values.map((name) => named[name]!),
    );
    return { dataId: out.dataId, shape, dtype: 'float32' };
  };
}

/** The forward kernel of a masked softmax row: inputs {logits, mask}, attrs {axis}. */
export const maskedSoftmaxKernel = (row: MaskedSoftmaxRow): KernelFunc =>
  softmaxKernel('forward', row);

/** The gradient kernel: inputs {dy, mask, y}, attrs {axis}. */
export const maskedSoftmaxGradKernel = (row: MaskedSoftmaxRow): KernelFunc =>
  softmaxKernel('gradient', row);

export const maskedSoftmaxConfigs = (row: MaskedSoftmaxRow): KernelConfig[] => [
  { kernelName: row.kernelName, backendName: 'webgpu', kernelFunc: maskedSoftmaxKernel(row) },
  {
    kernelName: row.gradKernelName,
    backendName: 'webgpu',
    kernelFunc: maskedSoftmaxGradKernel(row),
  },
];
