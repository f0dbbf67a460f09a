import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { ProgramUniforms } from './slice.js';

/**
 * Copies `size` values of a flat input from `offset` on: splits the [k, outSize] result of a
 * several-output forward program (moments) into its outputs. A tfjs webgpu tensor owns a whole
 * buffer (no views at an offset), and a program has one output binding, so the outputs are
 * written together and copied apart; each copy is output-sized, never x-sized.
 */
export class TakeProgram implements WebGPUProgram {
  readonly variableNames = ['x'];
  readonly outputShape: number[];
  readonly shaderKey = 'maskedOps_take';
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly size = true;
  readonly uniforms = 'offset : i32,';
  readonly uniformData: ProgramUniforms;

  constructor(size: number, offset: number) {
    this.outputShape = [size];
    // A flat layout, one invocation per value (as webgpu_util.flatDispatchLayout and
    // computeDispatch give; only types are imported from tfjs-backend-webgpu).
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(size / this.workgroupSize[0]), 1, 1];
    this.uniformData = [{ type: 'int32', data: [offset] }];
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      setOutputAtIndex(index, getX(index + uniforms.offset));
    }
  }`;
  }
}
