import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/demo, from src/node or dist/node. */
export const demoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
