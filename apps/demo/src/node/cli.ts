// `pnpm demo` entry: answers -h/--help before anything heavy loads, then runs demo-main.ts.
import { DEMO_USAGE, helpRequested } from './usage.js';

if (helpRequested(process.argv.slice(2))) {
  console.log(DEMO_USAGE);
} else {
  await import('./demo-main.js');
}
