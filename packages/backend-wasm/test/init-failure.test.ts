// A wasm backend that cannot load its binaries (tfjs 4.22: setBackend('wasm') resolves to false,
// getBackend() still says 'wasm', the next op throws or moves to another backend) must say so
// loudly, naming the three binaries and setWasmPaths; and the wrapper must not get in the way of
// a backend that can initialise (every other test file checks that).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { getBackend, setBackend } from '@tensorflow/tfjs-core';
import { afterAll, expect, it, vi } from 'vitest';
import { TFJS_WASM_FILES } from '../src/index.js';

const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
afterAll(() => {
  errors.mockRestore();
  warnings.mockRestore();
});

const ours = () =>
  errors.mock.calls
    .map((c) => String(c[0]))
    .filter((m) => m.startsWith('@masked-ops/backend-wasm'));

it('missing .wasm files: setBackend is false and one error names the files, the path and setWasmPaths', async () => {
  const missing = join(tmpdir(), 'masked-ops-no-wasm-files-here/');
  setWasmPaths(missing);
  expect(await setBackend('wasm')).toBe(false);
  expect(getBackend()).toBe('wasm'); // tfjs's own state, which the message explains
  const logged = ours();
  expect(logged).toHaveLength(1);
  for (const file of TFJS_WASM_FILES) expect(logged[0]).toContain(file);
  expect(logged[0]).toContain('setWasmPaths');
  expect(logged[0]).toContain('Make sure the server can serve'); // tfjs's own cause, kept
  expect(logged[0]).toContain("tf.setBackend('wasm') resolves to false");
});

// The success path through the wrapped factory is every other test file of this package: each
// imports src/index.js and asserts setBackend('wasm') is true. (tfjs allows setWasmPaths only
// before the first initialisation, so it cannot follow the failure above in this process.)
