// `pnpm --filter demo deepfm` entry: answers -h/--help before anything heavy loads, then runs
// deepfm-main.ts.
import { DEEPFM_USAGE, helpRequested } from './usage.js';

if (helpRequested(process.argv.slice(2))) {
  console.log(DEEPFM_USAGE);
} else {
  await import('./deepfm-main.js');
}
