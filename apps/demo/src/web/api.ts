/// <reference types="vite/client" />
// What the demo page can do, on any backend this browser has. The CLI drives the same functions
// through Playwright, so the page and the CLI cannot drift apart.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
// Registers 'webgpu' with tfjs's highest priority: wherever WebGPU exists it would become the
// default backend, so every function below selects its backend explicitly (use()), never relying
// on the default.
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-layers';
import * as core from '@masked-ops/core';
import * as layers from '@masked-ops/layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import * as attention from '../attention/attention.js';
import { type BenchOptions, type BenchRow, copyBandwidthGBps, runBench } from '../bench.js';
import * as deepfmData from '../deepfm/data.js';
import * as deepfmModel from '../deepfm/model.js';
import {
  type DeepFMOptions,
  type DeepFMRun,
  type EpochCallback,
  runDeepFM,
} from '../deepfm/train.js';
import { type BackendRun, type MatrixSpec, runMatrix } from '../matrix.js';
import { type EncodedBackendRun, encodeRun } from '../transfer.js';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

export const BROWSER_BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'] as const;

/**
 * The plugins, loaded one by one so that one that fails to load (e.g. a backend package rebuilt
 * against an older core) leaves its backend on core's composite fallback, said out loud in
 * `environment().pluginErrors` and the matrix's kernels column, instead of taking the page down.
 */
const pluginErrors: Record<string, string> = {};
const plugins = Promise.all(
  Object.entries({
    cpu: () => import('@masked-ops/backend-cpu'),
    wasm: () => import('@masked-ops/backend-wasm'),
    webgl: () => import('@masked-ops/backend-webgl'),
    webgpu: () => import('@masked-ops/backend-webgpu'),
  }).map(([backend, load]) =>
    load().catch((err: Error) => {
      pluginErrors[backend] = err.message;
    }),
  ),
);

export interface PageEnvironment {
  userAgent: string;
  glRenderer: string;
  webglVersion: number;
  wasmBuild: string;
  /**
   * The WebGPU adapter ("google swiftshader, fallback adapter"), or why there is none: a browser
   * without WebGPU, or headless Chromium without --enable-unsafe-webgpu (tooling/chromium.mjs).
   */
  webgpuAdapter: string;
  /** backend -> why its plugin failed to load (its ops then run core's composite fallback). */
  pluginErrors: Record<string, string>;
}

export interface DemoApi {
  /** The backends that initialise in this browser. */
  backends(): Promise<string[]>;
  environment(): Promise<PageEnvironment>;
  /** Every (op, case) of the spec on one backend, and which code ran. */
  runMatrix(
    backend: string,
    spec: MatrixSpec,
    onProgress?: (done: number, total: number) => void,
  ): Promise<BackendRun>;
  /** The same, encoded for the trip to the CLI (see transfer.ts). */
  runMatrixEncoded(backend: string, spec: MatrixSpec): Promise<EncodedBackendRun>;
  bench(
    backend: string,
    options: Omit<BenchOptions, 'onProgress'>,
    onProgress?: BenchOptions['onProgress'],
  ): Promise<BenchRow[]>;
  /** Plain memory-copy bandwidth in this page, GB/s. */
  copyBandwidth(): Promise<number>;
  /** DeepFM and logistic regression trained and scored on one backend (src/deepfm/train.ts). */
  deepfm(
    backend: string,
    options?: Partial<DeepFMOptions>,
    onEpoch?: EpochCallback,
  ): Promise<DeepFMRun>;
}

declare global {
  interface Window {
    maskedOpsDemo?: DemoApi & { ready: boolean };
    /**
     * For console experiments: the tfjs namespace, the masked-ops packages, the DeepFM
     * example's data and model (src/deepfm) and the attention example (src/attention).
     */
    maskedOps?: {
      tf: typeof tf;
      core: typeof core;
      layers: typeof layers;
      deepfm: typeof deepfmData & typeof deepfmModel;
      attention: typeof attention;
    };
  }
}

async function use(backend: string): Promise<void> {
  await plugins;
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  await tf.ready();
}

function glRenderer(): { renderer: string; version: number } {
  const canvas = document.createElement('canvas');
  const gl2 = canvas.getContext('webgl2');
  const gl = gl2 ?? canvas.getContext('webgl');
  if (!gl) return { renderer: 'no WebGL', version: 0 };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return { renderer, version: gl2 ? 2 : 1 };
}

/**
 * The adapter tfjs-backend-webgpu would get (it asks for the same one), described; or why there
 * is none. tfjs itself only logs a warning and makes `setBackend('webgpu')` return false.
 */
async function webgpuAdapter(): Promise<string> {
  // The few fields read here, typed locally: the @webgpu/types that tfjs-backend-webgpu brings
  // (0.1.38) predate `adapter.info`.
  type Info = {
    vendor?: string;
    architecture?: string;
    device?: string;
    isFallbackAdapter?: boolean;
  };
  type Gpu = {
    requestAdapter(o: { powerPreference: string }): Promise<{
      info?: Info;
      isFallbackAdapter?: boolean;
    } | null>;
  };
  const gpu = (navigator as unknown as { gpu?: Gpu }).gpu;
  if (!gpu) return 'unavailable: navigator.gpu is missing (no WebGPU in this browser)';
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return 'unavailable: navigator.gpu.requestAdapter() returned null';
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device].filter(Boolean).join(' ');
    const fallback = adapter.isFallbackAdapter || info.isFallbackAdapter;
    return `${name || 'unnamed adapter'}${fallback ? ', fallback adapter' : ''}`;
  } catch (err) {
    return `unavailable: requestAdapter() threw ${(err as Error).message}`;
  }
}

export const demoApi: DemoApi = {
  async backends() {
    // Plugins register before any backend initialises, as static imports would have.
    await plugins;
    const ok: string[] = [];
    for (const b of BROWSER_BACKENDS) {
      try {
        if (await tf.setBackend(b)) ok.push(b);
      } catch {
        // not available in this browser
      }
    }
    return ok;
  },
  async environment() {
    const { renderer, version } = glRenderer();
    let wasmBuild = 'not initialised';
    try {
      await use('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      wasmBuild = threads && simd ? 'threaded-simd' : simd ? 'simd' : 'plain';
    } catch (err) {
      wasmBuild = `unavailable (${(err as Error).message})`;
    }
    return {
      userAgent: navigator.userAgent,
      glRenderer: renderer,
      webglVersion: version,
      wasmBuild,
      webgpuAdapter: await webgpuAdapter(),
      pluginErrors: { ...pluginErrors },
    };
  },
  async runMatrix(backend, spec, onProgress) {
    await use(backend);
    return runMatrix(spec, onProgress);
  },
  async runMatrixEncoded(backend, spec) {
    return encodeRun(await demoApi.runMatrix(backend, spec));
  },
  async bench(backend, options, onProgress) {
    await use(backend);
    return runBench(onProgress ? { ...options, onProgress } : options);
  },
  async copyBandwidth() {
    return copyBandwidthGBps();
  },
  async deepfm(backend, options, onEpoch) {
    await use(backend);
    return runDeepFM(options, onEpoch);
  },
};

export function exposeDemo(): void {
  window.maskedOps = {
    tf,
    core,
    layers,
    deepfm: { ...deepfmData, ...deepfmModel },
    attention,
  };
  window.maskedOpsDemo = { ...demoApi, ready: true };
}
