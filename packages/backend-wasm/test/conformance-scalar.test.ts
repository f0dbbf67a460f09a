// The scalar kernel modules on tfjs's plain (non-SIMD) build, in Node. tfjs picks its binary from
// the WASM_HAS_SIMD_SUPPORT flag; the SIMD and threaded binaries are pointed at paths that do not
// exist, so the backend can only initialise if tfjs really loaded the plain binary. Every op, the
// full conformance suite and every kernel-loop case: the scalar modules share the drivers but not
// the SIMD loops, so they need the same coverage.
import { createRequire } from 'node:module';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { checkCase, defineConformanceSuite, defineSoftmaxSuite } from '@masked-ops/core/testing';
import { env, setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelModuleInfo } from '../src/index.js';
import { checkHeapGrowthBetweenCalls, checkNoLeaksOver1000Calls } from './support/heap_checks.js';
import { WASM_OPS, WASM_SPECS } from './support/ops.js';
import { pathCases } from './support/path_cases.js';
import { defineSoftmaxHeapChecks } from './support/softmax_checks.js';

const require = createRequire(import.meta.url);

beforeAll(async () => {
  env().set('WASM_HAS_SIMD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': require.resolve(
      '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    ),
    'tfjs-backend-wasm-simd.wasm': '/nonexistent/tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm': '/nonexistent/tfjs-backend-wasm-threaded-simd.wasm',
  });
  expect(await setBackend('wasm')).toBe(true);
});

describe('plain tfjs build', () => {
  it('is served by the scalar modules', () => {
    expect(env().get('WASM_HAS_SIMD_SUPPORT')).toBe(false);
    expect(wasmKernelModuleInfo().variant).toBe('scalar');
  });
});

for (const spec of WASM_SPECS) {
  describe(`${spec.op}: scalar modules`, () => {
    it('survive heap growth between calls', () => checkHeapGrowthBetweenCalls(spec));
    it('1,000 calls leak nothing', () => checkNoLeaksOver1000Calls(spec));
    for (const c of pathCases()) it(c.name, () => checkCase(spec, c));
  });
}

defineConformanceSuite({ describe, it }, { path: 'fused', ops: WASM_OPS });

// The masked softmaxes' scalar modules (every row takes the scalar loops).
defineSoftmaxSuite({ describe, it }, { path: 'fused' });
defineSoftmaxHeapChecks({ describe, it });
