import type { BackendRun, CaseResult } from './matrix.js';

/**
 * A backend's matrix results in the form that crosses from the page to the CLI: each value list
 * as base64 of its float32 bytes. Playwright serialises a number array element by element (about
 * 10 µs per number here): maskedMean's 1.5 million result values took 16 s to cross as arrays,
 * under 1 s as base64. The values are float32 results, so nothing is lost.
 */
export interface EncodedBackendRun {
  kernels: BackendRun['kernels'];
  results: { op: CaseResult['op']; name: string; outputs: { y: string; dx: string }[] }[];
}

function toBase64(values: readonly number[]): string {
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  let text = '';
  // String.fromCharCode takes its arguments on the stack: feed it in chunks.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): number[] {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return Array.from(new Float32Array(bytes.buffer));
}

export const encodeRun = (run: BackendRun): EncodedBackendRun => ({
  kernels: run.kernels,
  results: run.results.map((r) => ({
    ...r,
    outputs: r.outputs.map((o) => ({ y: toBase64(o.y), dx: toBase64(o.dx) })),
  })),
});

export const decodeRun = (run: EncodedBackendRun): BackendRun => ({
  kernels: run.kernels,
  results: run.results.map((r) => ({
    ...r,
    outputs: r.outputs.map((o) => ({ y: fromBase64(o.y), dx: fromBase64(o.dx) })),
  })),
});
