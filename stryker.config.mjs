// Mutation testing of the cores (`npm run mutation`; docs/testing.md): StrykerJS changes one thing
// at a time in model/, receiver/ and analyzer/ (a `+=` into `-=`, a condition into `true`, …) and
// reruns the tests that cover it; a mutant no test notices is a bug the suite would let through.
// Too slow for every CI run (about 10,800 mutants at 2–3 s each on a busy two-core machine: 6–9
// hours at concurrency 1; docs/testing.md): a nightly-style job, and a check before changing a core.
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

// Shards of a few hundred to a thousand mutants (about 10–40 minutes each on a busy two-core
// machine), the cores of each folder first, so an interrupted run loses little and has some of
// each folder. A folder's last shard takes every file of that folder no other shard names, so a
// new file is always mutated somewhere.
const NAMED = {
  model: ['model/**/*.ts'],
  'receiver-protobuf': ['receiver/decode-protobuf.ts', 'receiver/protobuf-span-rows.ts', 'receiver/attributes-json.ts'],
  'analyzer-pairs': ['analyzer/pair-spans.ts', 'analyzer/id-tables.ts', 'analyzer/join-*.ts', 'analyzer/cut-off.ts', 'analyzer/clock-offset.ts', 'analyzer/gap-breakdown.ts'],
  'receiver-ingest': ['receiver/ingest.ts', 'receiver/write-queue.ts', 'receiver/store-writer.ts', 'receiver/responses.ts', 'receiver/refusals.ts'],
  'analyzer-stats': ['analyzer/stats.ts', 'analyzer/reservoir.ts', 'analyzer/log-histogram.ts', 'analyzer/server-metrics.ts', 'analyzer/read-metrics.ts', 'analyzer/fit.ts', 'analyzer/significance.ts'],
  'receiver-json': ['receiver/decode-json.ts'],
  'analyzer-runs': ['analyzer/analyze*.ts', 'analyzer/find-runs.ts', 'analyzer/timeline.ts', 'analyzer/tail-breakdown.ts', 'analyzer/run-list.ts', 'analyzer/warnings.ts'],
  'analyzer-findings': ['analyzer/findings.ts', 'analyzer/diagnosis-data.ts', 'analyzer/sentences.ts'],
  'receiver-checks': ['receiver/span-checks.ts', 'receiver/decode-logs.ts', 'receiver/read-body.ts', 'receiver/decoders/*.ts'],
  'analyzer-thresholds': ['analyzer/thresholds.ts', 'analyzer/change-thresholds.ts', 'analyzer/compare*.ts'],
  'analyzer-render': ['analyzer/render-*.ts', '!analyzer/render-html.ts'],
  'analyzer-html': ['analyzer/render-html.ts'],
};
const named = (folder) => Object.values(NAMED).flat().filter((g) => g.startsWith(`${folder}/`));
const not = (globs) => globs.map((g) => `!${g}`);

/** Shard name → files to mutate, in the order `npm run mutation` runs them; every .ts file of the
 * three folders is in exactly one shard. */
export const shards = {
  ...NAMED,
  'receiver-serve': ['receiver/**/*.ts', ...not(named('receiver'))],
  'analyzer-command': ['analyzer/**/*.ts', ...not(named('analyzer'))],
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
