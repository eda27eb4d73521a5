// Mutation testing of the cores (`npm run mutation`; docs/testing.md): StrykerJS changes one thing
// at a time in model/, receiver/ and analyzer/ (a `+=` into `-=`, a condition into `true`, …) and
// reruns the tests that cover it; a mutant no test notices is a bug the suite would let through.
// Too slow for every CI run (about an hour and a half at concurrency 1 on two cores): a nightly-style
// job, and a check before changing a core.
//
// `npm run mutation` (scripts/mutation.sh) runs one shard at a time, each in its own Stryker
// process with FIRSTSPAN_MUTATION_SHARD set, its own JSON report and its own incremental file under
// reports/mutation/: an interrupted run keeps every finished shard, and a rerun only tests the
// mutants whose code or tests changed. Without the variable, every shard's files in one report (for
// a subset: `npx stryker run --mutate 'receiver/ingest.ts'`).

// Files whose code only ever runs in a worker thread. Stryker switches mutants on through a global
// of the test's own thread, so a mutant there is never active and could only be killed by a test
// that ran it in this thread; both files are a few lines that forward messages to a core
// (model/store.ts, analyzer/join-pairs.ts), which is mutated where the tests run it in-thread.
const THREAD_SHELLS = ['!receiver/write-thread.ts', '!analyzer/join-worker.ts'];

const RECEIVER_DECODE = ['receiver/decode-*.ts', 'receiver/protobuf-reader.ts', 'receiver/span-checks.ts'];
const ANALYZER_JOIN = [
  'analyzer/analyze*.ts',
  'analyzer/clock-offset.ts',
  'analyzer/cut-off.ts',
  'analyzer/find-runs.ts',
  'analyzer/gap-breakdown.ts',
  'analyzer/id-tables.ts',
  'analyzer/join-*.ts',
  'analyzer/log-histogram.ts',
  'analyzer/pair-spans.ts',
  'analyzer/read-metrics.ts',
  'analyzer/reservoir.ts',
  'analyzer/run-list.ts',
  'analyzer/server-metrics.ts',
  'analyzer/stats.ts',
  'analyzer/tail-breakdown.ts',
  'analyzer/timeline.ts',
  'analyzer/warnings.ts',
];
const ANALYZER_RENDER = ['analyzer/render-*.ts', 'analyzer/report.ts'];
const not = (globs) => globs.map((g) => `!${g}`);

/** Shard name → files to mutate, in the order `npm run mutation` runs them (the cores first); every
 * .ts file of the three folders is in exactly one shard. */
export const shards = {
  model: ['model/**/*.ts'],
  'receiver-decode': RECEIVER_DECODE,
  'analyzer-join': ANALYZER_JOIN,
  'analyzer-findings': ['analyzer/**/*.ts', ...not(ANALYZER_JOIN), ...not(ANALYZER_RENDER)],
  'receiver-serve': ['receiver/**/*.ts', ...not(RECEIVER_DECODE)],
  'analyzer-render': ANALYZER_RENDER,
};

const shard = process.env.FIRSTSPAN_MUTATION_SHARD;
if (shard !== undefined && !(shard in shards)) {
  throw new Error(`FIRSTSPAN_MUTATION_SHARD=${shard}: no such shard; one of ${Object.keys(shards).join(', ')}`);
}
const name = shard ?? 'mutation';
// Read by the few tests that skip themselves under mutation testing (saying why).
process.env.FIRSTSPAN_MUTATION = '1';

export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [...(shard === undefined ? Object.values(shards).flat().filter((g) => !g.startsWith('!')) : shards[shard]), '!**/*.d.ts', ...THREAD_SHELLS],
  coverageAnalysis: 'perTest',
  // One core: the machine it runs on is shared. `--concurrency 2` on a machine of your own.
  concurrency: 1,
  // A mutant only hit while a file loads or in a beforeAll hook would need every test rerun for it
  // alone; such mutants are reported as ignored (and counted by scripts/mutation-summary.ts).
  ignoreStatic: true,
  // Vitest strips types and never type-checks, so mutants that break a type still run.
  disableTypeChecks: '{model,receiver,analyzer}/**/*.ts',
  // Slack over the tests' own time before a mutant counts as a timeout (an endless loop); the
  // tests start real servers, so a loaded machine needs some.
  timeoutMS: 5_000,
  reporters: ['clear-text', 'html', 'json', 'progress-append-only'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  // The sandbox copies the project: leave out caches (Node 24, Locust's venv), databases, reports.
  ignorePatterns: ['.cache', 'coverage', 'out', 'reports', '*.db', '*.db-wal', '*.db-shm', 'firstspan-report*.html'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
