/**
 * Shared vitest settings: every run writes a JSON report next to the package so the root test
 * command can print one `N passed, N failed` line for the whole monorepo.
 */
export const reportFile = (name: string): string => `.vitest-reports/${name}.json`;

/** The top-level reporters of every package: the console, plus the JSON report. */
export const reporters = (name: string): ['default', ['json', { outputFile: string }]] => [
  'default',
  ['json', { outputFile: reportFile(name) }],
];

export function nodeTestConfig(name: string) {
  return {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.browser.test.ts'],
    testTimeout: 120_000,
    reporters: reporters(name),
  };
}
