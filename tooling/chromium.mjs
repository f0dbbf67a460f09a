// Headless Chromium from the npm package @sparticuz/chromium (no download, no apt), shared by the
// vitest browser projects and the demo. CHROMIUM_PATH overrides it (e.g. a desktop Chrome with a
// real GPU). Plain JS so that compiled Node code can import it too.
import chromium from '@sparticuz/chromium';

/** @returns {Promise<string>} */
export async function chromiumExecutable() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return chromium.executablePath();
}

/** Flags for software WebGL 2 (ANGLE + SwiftShader) on a machine with no GPU and no network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
  '--ignore-gpu-blocklist',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Added for WebGPU: an adapter on SwiftShader (`--enable-unsafe-webgpu`), and Vulkan on SwiftShader,
 * without which reading a webgpu tensor back can return zeros and lose the device. Never
 * `--use-angle=vulkan`: it breaks WebGL here.
 */
export const CHROMIUM_WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
];
