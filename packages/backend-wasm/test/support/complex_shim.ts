/**
 * Test-only: tfjs-backend-wasm 4.22 has no `Complex` kernel, so `tf.complex` throws on it, and the
 * shared suite's error cases build their complex64 inputs with `tf.complex` (to check that
 * maskedMean rejects that dtype before any kernel runs). This registers a minimal `Complex` for
 * 'wasm' that stores interleaved (real, imag) float32 pairs on the heap. It only lets the inputs
 * exist; the assertions (message, no kernel, no leak) are the suite's own.
 */

import { getKernel, type KernelFunc, registerKernel, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapMemory, offsetOf, type WasmBackendLike } from '../../src/heap.js';

const complexOnWasm: KernelFunc = ({ inputs, backend }) => {
  const { real, imag } = inputs as { real: TensorInfo; imag: TensorInfo };
  const wasm = backend as unknown as WasmBackendLike;
  const out = wasm.makeOutput(real.shape, 'complex64');
  const n = real.shape.reduce((p, d) => p * d, 1);
  const buffer = heapMemory(wasm).buffer;
  const re = new Float32Array(buffer, offsetOf(wasm, real), n);
  const im = new Float32Array(buffer, offsetOf(wasm, imag), n);
  const dst = new Float32Array(buffer, offsetOf(wasm, out), 2 * n);
  for (let i = 0; i < n; i++) {
    dst[2 * i] = re[i]!;
    dst[2 * i + 1] = im[i]!;
  }
  return out;
};

if (getKernel('Complex', 'wasm') === undefined) {
  registerKernel({ kernelName: 'Complex', backendName: 'wasm', kernelFunc: complexOnWasm });
}
