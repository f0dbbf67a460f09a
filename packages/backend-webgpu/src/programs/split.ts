import type { ReducerName } from '@masked-ops/core';
import { REDUCERS } from '../wgsl/reducers.js';
import {
  finishWrites,
  flatGroupIndex,
  type MaskedProgram,
  mergeChunksSnippet,
  type ProgramUniforms,
  partialsDeclaration,
  type Slices,
  sliceUniforms,
  stateLoad,
  workgroupShape,
} from './slice.js';

/**
 * How a split ("two-stage") reduction cuts its slices: `chunks` contiguous chunks of
 * `chunkSize` reduced positions (the last one shorter), each reduced by its own workgroup per
 * group of `shape[0]` output elements (`groups` of them).
 */
export interface SplitPlan {
  shape: [number, number];
  groups: number;
  chunks: number;
  chunkSize: number;
}

/**
 * Workgroups a split dispatch aims at: several per SwiftShader thread (it runs a workgroup on one
 * CPU thread) and a few per compute unit of a real GPU, without thousands of tiny chunks whose
 * states stage 2 would then have to merge.
 */
export const SPLIT_WORKGROUPS = 256;

/** Positions each invocation folds per chunk at least: fewer, and the split's extra pass costs more than it spreads. */
const MIN_STEPS = 32;

/**
 * Whether, and how, to split the slices: when their output elements fill fewer than half of
 * SPLIT_WORKGROUPS workgroups and each slice is long enough for two chunks of MIN_STEPS positions
 * per invocation (the one-stage program would run a few workgroups, each a long serial loop).
 * One output per workgroup column: slices of one feature (the per-token-loss form: every axis
 * reduced, one output) take a [1, 64] workgroup, so every invocation reads the slice (in the
 * [4, 64] shape three columns of four would idle); more features keep workgroupShape's.
 */
export function splitPlan(s: Slices): SplitPlan | null {
  const shape: [number, number] = s.inner === 1 ? [1, 64] : workgroupShape(s);
  const [columns, rows] = shape;
  const groups = Math.ceil((s.keptSize * s.inner) / columns);
  const wanted = Math.min(
    Math.floor(SPLIT_WORKGROUPS / groups),
    Math.floor(s.reduceSize / (rows * MIN_STEPS)),
  );
  if (wanted < 2) return null;
  const chunkSize = Math.ceil(s.reduceSize / wanted);
  return { shape, groups, chunks: Math.ceil(s.reduceSize / chunkSize), chunkSize };
}

/**
 * Stage 2 of a split forward reduction: merges each output element's chunk states (input
 * `states`, [chunks, outSize, width], what MaskedSliceProgram writes split) with the reducer's
 * own stateMerge, then finishes them as the one-stage program does ([k, outSize]). One
 * workgroup per group of output elements, in the plan's shape; the uniforms are the slices'
 * (the same scale as stage 1) plus the chunk count.
 */
export class MergeStatesProgram implements MaskedProgram {
  variableNames = ['states'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  uniformData: ProgramUniforms;
  private readonly code: string;

  constructor(reducerName: ReducerName, s: Slices, plan: SplitPlan) {
    const reducer = REDUCERS[reducerName];
    if (reducer === undefined) throw new Error(`backend-webgpu: no reducer '${reducerName}'`);
    const [columns, rows] = plan.shape;
    const outSize = s.keptSize * s.inner;
    const u = sliceUniforms(s).int('chunks', plan.chunks);
    this.uniforms = u.declarations.join(' ');
    this.uniformData = u.data;
    this.workgroupSize = [columns, rows, 1];
    this.dispatch = [Math.ceil(outSize / columns), 1, 1];
    this.outputShape = [reducer.outputs * outSize];
    this.shaderKey = `maskedOps_merge_${reducerName}_${columns}x${rows}`;
    this.code = `
  ${reducer.code}
  ${partialsDeclaration(columns, rows)}
  ${stateLoad(reducer)}
  fn main(index : i32) {
    ${flatGroupIndex}
    let e = groupIndex * ${columns} + i32(localId.x);
    let live = e < uniforms.outSize;
    ${mergeChunksSnippet(columns, rows)}
    if (live && localId.y == 0u) {
      let total = partials[localId.x];
      ${finishWrites(reducer)}
    }
  }`;
  }

  getUserCode(): string {
    return this.code;
  }
}
