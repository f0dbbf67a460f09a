import {
  asReduceAttrs,
  type MaskedReduceInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MaskedSliceProgram } from '../programs/slice.js';
import { MergeStatesProgram, splitPlan } from '../programs/split.js';
import { TakeProgram } from '../programs/take.js';
import { run } from '../run.js';

/**
 * The forward kernel of a table row for 'webgpu': one dispatch reads x and the mask together
 * (programs/slice.ts), whatever the axis set; long slices with few outputs take two
 * (programs/split.ts: each chunk's state, then their merge). A row with several outputs (moments)
 * computes them into one [k, outSize] buffer, copied apart into its outputs in the row's order.
 */
export function maskedReduceKernel(spec: MaskedReduction): KernelFunc {
  const outputs = spec.outputs.length;
  return ({ inputs, backend, attrs }): TensorInfo | TensorInfo[] => {
    const { x, mask } = inputs as MaskedReduceInputs;
    const { axis, keepDims } = asReduceAttrs(attrs);
    const webgpu = backend as WebGPUBackend;
    const g = maskedGeometry(x.shape, mask.shape, axis, keepDims);
    const outSize = g.keptSize * g.inner;
    const shaped = (t: TensorInfo): TensorInfo => ({
      dataId: t.dataId,
      shape: g.outShape,
      dtype: 'float32',
    });
    let results: TensorInfo[];
    if (outSize === 0 || g.reduceSize === 0) {
      // Nothing to read: an empty result, or slices with no element (exactly the empty values).
      results = spec.emptyValues.map((v) =>
        webgpu.makeTensorInfo(g.outShape, 'float32', new Float32Array(outSize).fill(v)),
      );
    } else {
      const task = { kind: 'forward', reducer: spec.reducer } as const;
      const plan = splitPlan(g);
      let all: TensorInfo;
      if (plan === null) {
        all = run(webgpu, new MaskedSliceProgram(task, g), [x, mask]);
      } else {
        const states = run(webgpu, new MaskedSliceProgram(task, g, plan), [x, mask]);
        try {
          all = run(webgpu, new MergeStatesProgram(spec.reducer, g, plan), [states]);
        } finally {
          webgpu.disposeData(states.dataId);
        }
      }
      if (outputs === 1) {
        results = [shaped(all)];
      } else {
        try {
          results = Array.from({ length: outputs }, (_, k) =>
            shaped(run(webgpu, new TakeProgram(outSize, k * outSize), [all])),
          );
        } finally {
          webgpu.disposeData(all.dataId);
        }
      }
    }
    return outputs === 1 ? results[0]! : results;
  };
}

export const maskedReduceConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.kernelName,
  backendName: 'webgpu',
  kernelFunc: maskedReduceKernel(spec),
});
