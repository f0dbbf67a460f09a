/**
 * Makes a failed initialisation of tfjs's wasm backend say what to do. In tfjs 4.22 a backend
 * whose binaries cannot be fetched makes `setBackend('wasm')` resolve to false with two console
 * warnings (silenced entirely by `enableProdMode()`), `getBackend()` keeps answering 'wasm', and
 * the next op either throws "The highest priority backend 'wasm' has not yet been initialized"
 * or quietly moves to another registered backend (webgl, cpu), where the masked ops run without
 * these kernels. The kernels here can never report it (they only run once the backend exists),
 * so the backend's factory is wrapped instead: its failure is logged as an error naming the
 * binaries and `setWasmPaths`, and rethrown with that message.
 */
import { engine, registerBackend, removeBackend } from '@tensorflow/tfjs-core';

/** The binaries tfjs-backend-wasm 4.x fetches (one of them, chosen by SIMD and thread support). */
export const TFJS_WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

export function wasmInitFailureMessage(cause: unknown): string {
  // tfjs rejects with a plain `{message}` object, not an Error.
  const message = (cause as { message?: unknown } | null)?.message;
  const why = typeof message === 'string' ? message : String(cause);
  return (
    `@masked-ops/backend-wasm: tfjs's wasm backend failed to initialise (${why}). ` +
    `tf.setBackend('wasm') resolves to false, tf.getBackend() still says 'wasm' until the next ` +
    `op, and tfjs then throws or runs on another backend, where the masked ops use core's ` +
    `slower composite. Serve ${TFJS_WASM_FILES.join(', ')} from ` +
    `@tensorflow/tfjs-backend-wasm/dist and call setWasmPaths(...) with their URLs before ` +
    `setBackend('wasm'); check the value setBackend resolves to. ` +
    `See the @masked-ops/backend-wasm README, "Serving the .wasm files".`
  );
}

const wrapped = new WeakSet<object>();

/**
 * Wraps the registered 'wasm' backend factory once, if tfjs-backend-wasm is registered and its
 * backend is neither initialised nor being initialised (then there is nothing left to explain).
 */
export function explainWasmInitFailures(): void {
  const e = engine();
  const entry = e.registryFactory['wasm'];
  if (entry == null || wrapped.has(entry.factory) || e.registry['wasm'] != null) return;
  if (e.backendName === 'wasm') return; // setBackend('wasm') may be pending: leave it alone
  const factory = entry.factory;
  const explained = async () => {
    try {
      return await factory();
    } catch (cause) {
      const error = new Error(wasmInitFailureMessage(cause), { cause });
      // tfjs only warns (and not at all in prod mode); this is the one place that can tell.
      console.error(error.message);
      throw error;
    }
  };
  wrapped.add(explained);
  removeBackend('wasm');
  registerBackend('wasm', explained, entry.priority);
}
