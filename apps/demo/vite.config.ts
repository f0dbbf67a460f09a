import { defineConfig } from 'vite';

export default defineConfig({
  build: { outDir: 'dist-web', target: 'es2022' },
  // tfjs-backend-wasm loads its .wasm files by URL (setWasmPaths); keep them out of pre-bundling.
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
