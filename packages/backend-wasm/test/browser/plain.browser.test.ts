// A plain (not cross-origin-isolated) Chromium page: tfjs's SIMD build, our SIMD module.
import { defineBrowserWasmSuite } from './suite.js';

defineBrowserWasmSuite({ isolated: false });
