// The score of a mutation run (`npm run mutation`, scripts/mutation.sh) per folder and in total,
// from the JSON reports Stryker wrote (one per shard, in the mutation-testing-elements schema).
// `npx tsx scripts/mutation-summary.ts [reports/mutation] [--files]`; --files adds one line per file.
// A file found in several reports (a shard and an ad-hoc subset run) counts once, from the newest.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Report {
  files: Record<string, { mutants: Array<{ status: string }> }>;
}

const COLUMNS = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'Ignored', 'errors'] as const;
type Counts = Record<(typeof COLUMNS)[number], number>;

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? 'reports/mutation';
const perFile = args.includes('--files');

const reports = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.incremental.json'))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
if (reports.length === 0) {
  console.error(`no mutation report in ${dir}: run \`npm run mutation\` first`);
  process.exit(1);
}

const byFile = new Map<string, Counts>();
for (const path of reports) {
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const c: Counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, errors: 0 };
    for (const { status } of mutants) {
      // CompileError and RuntimeError mutants are not valid mutants: they count in no score.
      if (status in c) c[status as keyof Counts] += 1;
      else c.errors += 1;
    }
    byFile.set(file, c);
  }
}

const add = (a: Counts, b: Counts): Counts => Object.fromEntries(COLUMNS.map((k) => [k, a[k] + b[k]])) as Counts;
const pct = (n: number, d: number): string => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)} %`);

function row(name: string, c: Counts): string {
  const detected = c.Killed + c.Timeout;
  const mutants = COLUMNS.reduce((s, k) => s + c[k], 0);
  const cells = [name, mutants, ...COLUMNS.map((k) => c[k]), pct(detected, detected + c.Survived + c.NoCoverage), pct(detected, detected + c.Survived)];
  return `| ${cells.join(' | ')} |`;
}

const folders = new Map<string, Counts>();
for (const [file, c] of byFile) {
  const folder = file.split('/')[0]!;
  folders.set(folder, add(folders.get(folder) ?? { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, errors: 0 }, c));
}

console.log(`${byFile.size} files from ${reports.length} reports in ${dir}\n`);
console.log('| | mutants | killed | timeout | survived | no coverage | ignored (static) | errors | score | of covered |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [folder, c] of [...folders].sort()) console.log(row(`${folder}/`, c));
console.log(row('**total**', [...folders.values()].reduce(add)));
if (perFile) for (const [file, c] of [...byFile].sort()) console.log(row(file, c));
