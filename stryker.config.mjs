// Mutation testing of the cores (`npm run mutation`; docs/testing.md): StrykerJS changes one thing
// at a time in model/, receiver/ and analyzer/ (a `+=` into `-=`, a condition into `true`, …) and
// reruns the tests that cover it; a mutant no test notices is a bug the suite would let through.
// Too slow for every CI run (tens of minutes on two cores); run it before changing a core.
// A subset: `npx stryker run --mutate 'receiver/ingest.ts'`.
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: ['model/**/*.ts', 'receiver/**/*.ts', 'analyzer/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The sandbox copies the project: leave out caches (Node 24, Locust's venv), databases, reports.
  ignorePatterns: ['.cache', 'coverage', 'out', 'reports', '*.db', '*.db-wal', '*.db-shm', 'firstspan-report*.html'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
