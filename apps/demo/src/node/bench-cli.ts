// `pnpm bench` entry: answers -h/--help before anything heavy loads, then runs bench-main.ts.
import { BENCH_USAGE, helpRequested } from './usage.js';

if (helpRequested(process.argv.slice(2))) {
  console.log(BENCH_USAGE);
} else {
  await import('./bench-main.js');
}
