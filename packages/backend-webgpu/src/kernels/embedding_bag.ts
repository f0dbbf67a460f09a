import { asBagAttrs, asBagGradAttrs, EMBEDDING_BAG } from '@masked-ops/core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  BagForwardProgram,
  BagSampleWeightsGradProgram,
  type BagShape,
  BagWeightGradProgram,
  BagZerosProgram,
} from '../programs/embedding_bag.js';
import { flat } from '../run.js';

/**
 * The embedding bag's kernels for 'webgpu' (core's EMBEDDING_BAG contract): flat ids `[nnz]`,
 * offsets `[batch + 1]`. One dispatch each (d weight: a zero fill, then atomic adds into it); ids
 * are never read back, so out-of-range ids are skipped like padding (docs/SPEC.md).
 */
type Named = Record<string, TensorInfo | undefined>;

const shapeOf = (weightShape: readonly number[], named: Named, paddingId: number): BagShape => ({
  numEmbeddings: weightShape[0]!,
  dim: weightShape[1]!,
  nnz: named['ids']!.shape[0]!,
  batch: named['offsets']!.shape[0]! - 1,
  paddingId,
});

const runFlat = (
  backend: WebGPUBackend,
  program: BagForwardProgram | BagZerosProgram | BagWeightGradProgram | BagSampleWeightsGradProgram,
  inputs: TensorInfo[],
  output?: TensorInfo,
): TensorInfo =>
  backend.runWebGPUProgram(program, inputs.map(flat), 'float32', program.uniformData, output);

const shaped = (t: TensorInfo, shape: number[]): TensorInfo => ({
  dataId: t.dataId,
  shape,
  dtype: 'float32',
});

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const named = inputs as Named;
  const { mode, paddingId } = asBagAttrs(attrs);
  const webgpu = backend as WebGPUBackend;
  const s = shapeOf(named['weight']!.shape, named, paddingId);
  const outShape = [s.batch, s.dim];
  if (s.batch * s.dim === 0) return webgpu.makeTensorInfo(outShape, 'float32', new Float32Array(0));
  if (s.nnz === 0 || s.numEmbeddings === 0) {
    // Every bag is empty: zeros, written on the GPU (no output-sized upload).
    return shaped(runFlat(webgpu, new BagZerosProgram(s.batch * s.dim), []), outShape);
  }
  const psw = named['perSampleWeights'];
  const program = new BagForwardProgram(mode, s, psw !== undefined);
  const ins = [named['weight']!, named['ids']!, named['offsets']!, ...(psw ? [psw] : [])];
  return shaped(runFlat(webgpu, program, ins), outShape);
};

const weightGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const named = inputs as Named;
  const { mode, paddingId, numEmbeddings } = asBagGradAttrs(attrs);
  const webgpu = backend as WebGPUBackend;
  const dim = named['dy']!.shape[1]!;
  const s = shapeOf([numEmbeddings, dim], named, paddingId);
  const outShape = [numEmbeddings, dim];
  const size = numEmbeddings * dim;
  if (size === 0) return webgpu.makeTensorInfo(outShape, 'float32', new Float32Array(0));
  const dw = runFlat(webgpu, new BagZerosProgram(size), []);
  if (s.nnz > 0 && s.batch > 0) {
    const psw = named['perSampleWeights'];
    const program = new BagWeightGradProgram(mode, s, psw !== undefined);
    const ins = [
      named['dy']!,
      named['ids']!,
      named['offsets']!,
      ...(psw ? [psw] : []),
      ...(mode === 'max' ? [named['weight']!, named['y']!] : []),
    ];
    // Accumulates into dw in place (the program's output binding is dw's buffer).
    runFlat(webgpu, program, ins, dw);
  }
  return shaped(dw, outShape);
};

const sampleWeightsGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const named = inputs as Named;
  const { paddingId } = asBagAttrs(attrs);
  const webgpu = backend as WebGPUBackend;
  const s = shapeOf(named['weight']!.shape, named, paddingId);
  if (s.nnz === 0) return webgpu.makeTensorInfo([0], 'float32', new Float32Array(0));
  if (s.batch * s.dim === 0 || s.numEmbeddings === 0) {
    return shaped(runFlat(webgpu, new BagZerosProgram(s.nnz), []), [s.nnz]);
  }
  const program = new BagSampleWeightsGradProgram(s);
  const ins = [named['dy']!, named['weight']!, named['ids']!, named['offsets']!];
  return shaped(runFlat(webgpu, program, ins), [s.nnz]);
};

/** The three kernels, for registration (the op attaches the gradient itself: customGrad). */
export const embeddingBagConfigs: KernelConfig[] = [
  { kernelName: EMBEDDING_BAG.kernelName, backendName: 'webgpu', kernelFunc: forward },
  { kernelName: EMBEDDING_BAG.gradKernelName, backendName: 'webgpu', kernelFunc: weightGrad },
  {
    kernelName: EMBEDDING_BAG.sampleWeightsGradKernelName,
    backendName: 'webgpu',
    kernelFunc: sampleWeightsGrad,
  },
];
