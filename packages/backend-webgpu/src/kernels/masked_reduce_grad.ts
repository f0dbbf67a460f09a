import {
  asReduceGradAttrs,
  type MaskedReduceGradInputs,
  type MaskedReduction,
  maskedGeometry,
} from '@masked-ops/core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  gradientInputs,
  MaskedSliceProgram,
  reducerInputs,
  statisticOf,
} from '../programs/slice.js';
import { splitPlan } from '../programs/split.js';
import { run } from '../run.js';
import { GRADIENTS } from '../wgsl/reducers.js';

/**
 * The gradient kernel's inputs: `dy1` is the cotangent of a second output (moments' variance;
 * docs/SPEC.md "The kernel contract").
 */
type GradInputs = MaskedReduceGradInputs & { dy1?: TensorInfo };

/**
 * The gradient kernel of a table row for 'webgpu': one dispatch per call. Each workgroup reduces
 * the statistic its slices need (mean, moments: the valid count; max, min: the positions tied
 * with y; sum, logsumexp: none) in workgroup memory, then writes dx over the same slices:
 * valid ? f(dy, dy1, stat, x, y) : 0 (wgsl/reducers.ts GRADIENTS). No intermediate tensor.
 * Long slices with few outputs are split as the forward is (programs/split.ts): workgroups write
 * dx chunk by chunk, and a statistic takes a first dispatch of each chunk's state, which every
 * chunk's workgroups then merge.
 */
export function maskedReduceGradKernel(spec: MaskedReduction): KernelFunc {
  const gradient = GRADIENTS[spec.reducer];
  if (gradient === undefined) throw new Error(`backend-webgpu: no gradient '${spec.reducer}'`);
  return ({ inputs, backend, attrs }): TensorInfo => {
    const named = inputs as GradInputs as Record<string, TensorInfo>;
    const { axis, xShape } = asReduceGradAttrs(attrs);
    const webgpu = backend as WebGPUBackend;
    const g = maskedGeometry(xShape, named['mask']!.shape, axis, true);
    if (g.maskSize * g.inner === 0) {
      return webgpu.makeTensorInfo(xShape, 'float32', new Float32Array(0));
    }
    const plan = splitPlan(g);
    const stat = statisticOf(spec.reducer);
    const gradientTask = { kind: 'gradient', reducer: spec.reducer } as const;
    let dx: TensorInfo;
    if (plan === null || stat === null) {
      // Not split, or split without a statistic: one dispatch (split, one workgroup per chunk).
      dx = run(
        webgpu,
        new MaskedSliceProgram(gradientTask, g, plan),
        gradientInputs(gradient).map((name) => named[name]!),
      );
    } else {
      const statistic = new MaskedSliceProgram(
        { kind: 'statistic', reducer: spec.reducer },
        g,
        plan,
      );
      const states = run(
        webgpu,
        statistic,
        reducerInputs(stat).map((name) => named[name]!),
      );
      try {
        dx = run(
          webgpu,
          new MaskedSliceProgram(gradientTask, g, plan),
          gradientInputs(gradient, true).map((name) => (name === 'states' ? states : named[name]!)),
        );
      } finally {
        webgpu.disposeData(states.dataId);
      }
    }
    return { dataId: dx.dataId, shape: xShape, dtype: 'float32' };
  };
}

export const maskedReduceGradConfig = (spec: MaskedReduction): KernelConfig => ({
  kernelName: spec.gradKernelName,
  backendName: 'webgpu',
  kernelFunc: maskedReduceGradKernel(spec),
});
