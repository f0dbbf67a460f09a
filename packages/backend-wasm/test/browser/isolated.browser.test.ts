// A cross-origin-isolated Chromium page (COOP/COEP): tfjs's threaded-SIMD build, whose heap is a
// shared WebAssembly.Memory, served by our shared-memory SIMD module.
import { defineBrowserWasmSuite } from './suite.js';

defineBrowserWasmSuite({ isolated: true });
