// The embedded modules, checked from their bytes independently of the build script; their export
// names against the list the build script generated from the AssemblyScript sources.
import { describe, expect, it } from 'vitest';
import {
  type KernelModuleName,
  MODULE_BINARIES,
  MODULE_EXPORTS,
} from '../src/generated/wasm_modules.js';

const bytesOf = (b64: string) => Uint8Array.from(Buffer.from(b64, 'base64'));

function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    ids.push(bytes[pos++]!);
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    pos += size;
  }
  return ids;
}

const VARIANTS = [
  ['simd', { simd: true, shared: false }],
  ['simdShared', { simd: true, shared: true }],
  ['scalar', { simd: false, shared: false }],
] as const;

it('there are four forward modules (sums, extrema, logsumexp, moments), a gradient module, the bag module, the scatter module and the two softmax modules', () => {
  expect(Object.keys(MODULE_BINARIES).sort()).toEqual([
    'bags',
    'broadcast',
    'extrema',
    'logsumexp',
    'moments',
    'scatter',
    'softmax',
    'softmaxGrad',
    'sums',
  ]);
});

for (const name of Object.keys(MODULE_BINARIES) as KernelModuleName[]) {
  describe.each(VARIANTS)(`embedded module ${name} (%s)`, (variant, kind) => {
    const bytes = bytesOf(MODULE_BINARIES[name][variant]);
    const module = new WebAssembly.Module(bytes);

    it('is under 4 KB (synchronous compile allowed on Chrome main thread)', () => {
      expect(bytes.length).toBeLessThan(4096);
    });
    it('has no data segment and no data count section', () => {
      const ids = sectionIds(bytes);
      expect(ids).not.toContain(11);
      expect(ids).not.toContain(12);
    });
    it('imports only env.memory and exports exactly the generated list of functions', () => {
      expect(WebAssembly.Module.imports(module)).toEqual([
        { module: 'env', name: 'memory', kind: 'memory' },
      ]);
      const exports = WebAssembly.Module.exports(module);
      expect(exports.every((e) => e.kind === 'function')).toBe(true);
      expect(exports.map((e) => e.name).sort()).toEqual([...MODULE_EXPORTS[name]].sort());
      expect(MODULE_EXPORTS[name].length).toBeGreaterThanOrEqual(1);
    });
    it('links only to memory of the matching sharedness', () => {
      const plain = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      const shared = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
      const link = (memory: WebAssembly.Memory) => () =>
        new WebAssembly.Instance(module, { env: { memory } });
      if (kind.shared) {
        expect(link(shared)).not.toThrow();
        expect(link(plain)).toThrow(WebAssembly.LinkError);
      } else {
        expect(link(plain)).not.toThrow();
        expect(link(shared)).toThrow(WebAssembly.LinkError);
      }
    });
    it(kind.simd ? 'uses SIMD instructions' : 'uses no SIMD instructions (MVP)', () => {
      // 0xfd is the SIMD opcode prefix; v128 as a value type is 0x7b. A scalar module must
      // validate on an engine without SIMD, so it may contain neither in its code.
      const hasPrefix = bytes.includes(0xfd);
      if (kind.simd) expect(hasPrefix).toBe(true);
      else expect(hasPrefix).toBe(false);
    });
  });
}
