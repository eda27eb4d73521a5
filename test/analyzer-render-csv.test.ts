// The CSV output (analyzer/render-csv.ts) read back with an RFC 4180 parser written here and checked
// column by column, by name, against the Report it was rendered from: one row per endpoint and the
// run's total last, every figure as the number the JSON has, an empty cell where the JSON has null.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointReport, Report, RunReport } from '../analyzer/report.ts';
import { CSV_COLUMNS, csvField, renderCsv } from '../analyzer/render-csv.ts';
import { analysedScenarios } from './helpers/analyzer-scenario.ts';

let dir: string;
let scenario: Report;
let locust: Report;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-render-csv-'));
  ({ scenario, locust } = await analysedScenarios(dir));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** RFC 4180: CRLF between records, fields quoted when they hold a comma, quote or line break. */
function parseCsv(text: string): string[][] {
  expect(text.endsWith('\r\n')).toBe(true);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else field += text[i++];
      }
    } else if (text[i] === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (text.startsWith('\r\n', i)) {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else field += text[i++];
  }
  return rows;
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const PARTS = ['poolWait', 'connectionSetup', 'sending', 'beforeServer', 'betweenAttempts', 'afterServer', 'download', 'unexplained'] as const;
const STATS = ['p50', 'p90', 'p99', 'max', 'mean'] as const;

/** Column name → the Report's value, written out from the column list in docs/analyzer.md. */
function expectedRow(run: RunReport, ep: EndpointReport): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {
    run: run.label,
    service: run.service,
    run_id: run.runId,
    endpoint: ep.name,
    count: ep.count,
    matched: ep.matched,
    propagation_coverage: ep.propagationCoverage,
    errors: ep.errors,
    explained_share: ep.phasesMs?.explainedShare ?? null,
    breakdown_basis: ep.phasesMs?.basis ?? null,
    multiple_server_children: ep.multipleServerChildren,
    new_connections: ep.newConnections,
    cut_off: ep.cutOff,
  };
  for (const [m, st] of [['client', ep.clientMs], ['server', ep.serverMs], ['gap', ep.gapMs]] as const) for (const s of STATS) out[`${m}_${s}_ms`] = st?.[s] ?? null;
  for (const p of PARTS) out[`phase_${snake(p)}_ms`] = ep.phasesMs?.[p] ?? null;
  for (const c of ['opened', 'reused'] as const) {
    const side = ep.gapByConnection?.[c];
    out[`gap_${c}_count`] = side?.count ?? null;
    for (const s of STATS) out[`gap_${c}_${s}_ms`] = side?.gapMs?.[s] ?? null;
  }
  for (const [t, tail] of [['tail10', ep.tailPhasesMs.slowest10], ['tail1', ep.tailPhasesMs.slowest1]] as const) for (const p of PARTS) out[`${t}_phase_${snake(p)}_ms`] = tail?.[p] ?? null;
  return out;
}

/** A cell as the JSON value it stands for: '' is null, a number's text its number. */
function cellValue(cell: string, expected: string | number | null): string | number | null {
  if (cell === '') return null;
  return typeof expected === 'number' ? Number(cell) : cell;
}

function checkReport(report: Report): void {
  const rows = parseCsv(renderCsv(report));
  expect(rows[0]).toEqual(CSV_COLUMNS);
  const body = rows.slice(1);
  const expected = report.runs.flatMap((run) => [...run.endpoints, run.total].map((ep) => expectedRow(run, ep)));
  expect(body.length).toBe(expected.length);
  body.forEach((cells, i) => {
    const want = expected[i] as Record<string, string | number | null>;
    expect(cells.length).toBe(CSV_COLUMNS.length);
    expect(Object.keys(want).sort()).toEqual([...CSV_COLUMNS].sort());
    const got = Object.fromEntries(CSV_COLUMNS.map((col, j) => [col, cellValue(cells[j] as string, want[col] ?? null)]));
    expect(got).toEqual(want);
  });
}

describe('CSV output, against the Report it was rendered from', () => {
  it('gives every endpoint and the total of a run with phases, offsets and connections a row of exact figures', () => {
    const run = scenario.runs[0] as RunReport;
    // The rows hold figures of every kind: a split gap, connection counts, a tail.
    expect(run.total.phasesMs).not.toBeNull();
    expect(run.total.gapByConnection).not.toBeNull();
    expect(run.endpoints.some((e) => e.tailPhasesMs.slowest1 !== null)).toBe(true);
    checkReport(scenario);
  });

  it('leaves empty cells, never 0, where real Locust data has no figure: connection split, run id', () => {
    expect(locust.runs.length).toBe(2);
    expect(locust.runs[0]?.total.gapByConnection).toBeNull();
    checkReport(locust);
    const cells = parseCsv(renderCsv(locust))[1] as string[];
    expect(cells[CSV_COLUMNS.indexOf('gap_opened_count')]).toBe('');
    expect(cells[CSV_COLUMNS.indexOf('new_connections')]).toBe('');
  });
});

describe('CSV fields', () => {
  it('writes numbers as JavaScript prints them and null as an empty cell', () => {
    expect([0, 1.5, -2, 0.000001, 1e21].map(csvField)).toEqual(['0', '1.5', '-2', '0.000001', '1e+21']);
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('');
  });

  it('quotes a field with a comma, quote or line break, doubling the quotes, and leaves others bare', () => {
    expect(csvField('GET /a')).toBe('GET /a');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rin')).toBe('"cr\rin"');
  });

  it('defuses a field a spreadsheet would run as a formula, whatever its first character', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx'].map(csvField)).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx"]);
    expect(csvField('\rx')).toBe('"\'\rx"');
    // Only at the start: a name with = or - inside is left alone.
    expect(csvField('a=b-c')).toBe('a=b-c');
  });
});
