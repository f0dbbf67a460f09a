import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MaskedProgram } from './programs/slice.js';

/**
 * A flat 1-D view of `t`: a webgpu tensor is one row-major buffer whatever its logical shape
 * (outputs of transpose, slice, matMul included), so the view shares it. The programs read
 * views only through tfjs's accessors, which convert the buffer's stored type (i32 for bool).
 */
export const flat = (t: TensorInfo): TensorInfo => ({
  dataId: t.dataId,
  shape: [t.shape.reduce((p, d) => p * d, 1)],
  dtype: t.dtype,
});

/** Runs a program on flat views of `inputs`; float32 output of the program's shape. */
export const run = (
  backend: WebGPUBackend,
  program: MaskedProgram,
  inputs: TensorInfo[],
): TensorInfo =>
  backend.runWebGPUProgram(program, inputs.map(flat), 'float32', program.uniformData);
