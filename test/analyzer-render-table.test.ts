// The default text output (analyzer/render-table.ts) read back as a performance engineer reads it,
// checked cell by cell against the Report it was rendered from: every table's columns line up
// under a dashed rule as wide as their widest cell, every figure is the Report's in the documented
// format ('–' without data; 0, 1 or 2 decimals by size), and each section appears exactly when its
// data exists. The report is rendered inside each test, so a mutation test can tell which test
// covers which line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basisLabel, PART_NAMES } from '../analyzer/gap-breakdown.ts';
import type { EndpointReport, Report, RunReport } from '../analyzer/report.ts';
import { renderRun, renderTable } from '../analyzer/render-table.ts';
import { analysedScenarios, CART, PRODUCT } from './helpers/analyzer-scenario.ts';

/** The documented figure format: '–' without data, 0, 1 or 2 decimals by size. */
function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;

let dir: string;
let report: Report;
let locust: Report;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-render-table-'));
  ({ scenario: report, locust } = await analysedScenarios(dir));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function onlyRun(r: Report): RunReport {
  const run = r.runs[0];
  if (run === undefined || r.runs.length !== 1) throw new Error(`expected one run, got ${r.runs.length}`);
  return run;
}

interface ParsedTable {
  header: string[];
  rows: string[][];
  /** The table's lines as printed: header, rule, rows. */
  lines: string[];
  /** Each column's width, from the dashed rule. */
  widths: number[];
}

/**
 * The table after the line `title` (or the first table when title is null): the dashed rule gives
 * each column's width; cells are cut at those widths with the two-space separator between them.
 */
function tableAfter(text: string, title: string | null): ParsedTable {
  const all = text.split('\n');
  let at = title === null ? 0 : all.indexOf(title);
  if (at < 0) throw new Error(`no line "${title}" in:\n${text}`);
  while (at < all.length && !/^-+( +-+)*$/.test(all[at + 1] ?? '')) at++;
  const rule = all[at + 1] as string;
  const widths = rule.split('  ').map((d) => d.length);
  const cut = (line: string): string[] => {
    const cells: string[] = [];
    let pos = 0;
    for (const w of widths) {
      cells.push(line.slice(pos, pos + w));
      pos += w + 2;
    }
    return cells;
  };
  const lines: string[] = [];
  for (let i = at + 2; i < all.length && (all[i] ?? '') !== ''; i++) lines.push(all[i] as string);
  return { header: cut(all[at] as string).map((c) => c.trim()), rows: lines.map((l) => cut(l).map((c) => c.trim())), lines: [all[at] as string, rule, ...lines], widths };
}

/** Every cell fits its column, the rule is exactly as wide as the widest cell, lines end without blanks. */
function expectAligned(t: ParsedTable, leftColumns: number): void {
  t.widths.forEach((w, i) => {
    const longest = Math.max(...[t.header, ...t.rows].map((r) => (r[i] ?? '').length));
    expect(w, `column ${i} (${t.header[i]})`).toBe(longest);
  });
  for (const line of t.lines) expect(line).toBe(line.trimEnd());
  // A right-aligned column's text ends at the column's right edge; a left one starts at its left.
  const rows = t.lines.filter((_, i) => i !== 1);
  for (const line of rows) {
    let pos = 0;
    t.widths.forEach((w, i) => {
      const cell = line.slice(pos, pos + w);
      if (cell.trim() !== '') {
        if (i < leftColumns) expect(cell.startsWith(' '), `"${cell}" is left-aligned in ${line}`).toBe(false);
        else expect(cell.length === w && !cell.endsWith(' '), `"${cell}" is right-aligned in ${line}`).toBe(true);
      }
      pos += w + 2;
    });
  }
}

function endpointCells(ep: EndpointReport): string[] {
  return [
    ep.name,
    String(ep.count),
    pct(ep.propagationCoverage),
    String(ep.errors),
    fmt(ep.clientMs.p50),
    fmt(ep.clientMs.p99),
    fmt(ep.serverMs?.p50),
    fmt(ep.serverMs?.p99),
    fmt(ep.gapMs?.p50),
    fmt(ep.gapMs?.p90),
    fmt(ep.gapMs?.p99),
    fmt(ep.gapMs?.max),
    fmt(ep.gapMs?.mean),
  ];
}

describe('the text report, against the Report it was rendered from', () => {
  it('heads each run with its label, service, window, roots, matches, coverage and background count', () => {
    const run = onlyRun(report);
    const lines = renderRun(run).split('\n');
    expect(lines[0]).toBe(`Run ${run.label}  service ${run.service}  ${run.start} → ${run.end} (${run.durationS.toFixed(1)} s)`);
    expect(lines[1]).toBe(
      `  load-test roots ${run.rootSpans}, matched ${run.matched} (propagation coverage ${pct(run.propagationCoverage)}), background server spans ${run.backgroundServerSpans}`,
    );
    // No cut-off line without requests cut off; a blank line before the words.
    expect(run.cutOff).toBe(0);
    expect(lines.some((l) => l.includes('cut off by the end of the run'))).toBe(false);
    expect(lines[2 + run.warnings.length]).toBe('');
    // The summary sentences come before the tables, followed by one blank line.
    const first = lines.indexOf(run.summary[0] as string);
    expect(run.summary.length).toBeGreaterThan(0);
    expect(first).toBe(3 + run.warnings.length);
    expect(lines.slice(first, first + run.summary.length)).toEqual(run.summary);
    expect(lines[first + run.summary.length]).toBe('');
  });

  it('gives every endpoint and the total a row of the endpoint table with its exact figures', () => {
    const run = onlyRun(report);
    const t = tableAfter(renderRun(run), null);
    expect(t.header).toEqual(['Endpoint', 'Count', 'Cover', 'Errors', 'Client p50', 'p99', 'Server p50', 'p99', 'Gap p50', 'p90', 'p99', 'max', 'mean']);
    expect(t.rows).toEqual([...run.endpoints, run.total].map(endpointCells));
    expect(run.endpoints.map((e) => e.name)).toEqual(expect.arrayContaining([PRODUCT, CART]));
    expectAligned(t, 1);
  });

  it('splits each endpoint\'s gap into its parts, with the share explained and the basis of the split', () => {
    const run = onlyRun(report);
    const t = tableAfter(renderRun(run), 'Where the gap went (mean ms per request; the parts add up to the mean gap):');
    expect(t.header).toEqual(['Endpoint', 'Gap', 'Pool wait', 'Conn setup', 'Sending', 'Before server', 'Between', 'After server', 'Download', 'Unexplained', 'Explained', 'Basis']);
    const expected = [...run.endpoints, run.total].map((ep) =>
      ep.phasesMs === null
        ? [ep.name, ...Array<string>(10).fill('–'), 'no pair to split']
        : [ep.name, fmt(ep.phasesMs.gap), ...PART_NAMES.map((p) => fmt(ep.phasesMs?.[p])), pct(ep.phasesMs.explainedShare), basisLabel(ep.phasesMs)],
    );
    expect(t.rows).toEqual(expected);
    expect(expected.every((r) => r.at(-1) !== 'no pair to split')).toBe(true);
    expectAligned(t, 1);
  });

  it('shows the tail of each endpoint that has one: its slowest 10% and 1% of requests, parts averaged over them', () => {
    const run = onlyRun(report);
    const text = renderRun(run);
    const tails = run.endpoints.filter((ep) => ep.tailPhasesMs.slowest10 !== null);
    expect(tails.length).toBeGreaterThan(0);
    const t = tableAfter(text, 'The tail: where the gap of the slowest 10% and 1% of requests (by gap) went (mean ms over them):');
    expect(t.header).toEqual(['Endpoint', 'Slowest', 'Requests', 'Gap', 'Pool wait', 'Conn setup', 'Sending', 'Before server', 'Between', 'After server', 'Download', 'Unexplained']);
    const expected = tails.flatMap((ep) =>
      ([['10%', ep.tailPhasesMs.slowest10], ['1%', ep.tailPhasesMs.slowest1]] as const).map(([label, tail]) => [
        ep.name,
        label,
        String(Math.round(tail?.pairs ?? 0)),
        fmt(tail?.gap),
        ...PART_NAMES.map((p) => fmt(tail?.[p])),
      ]),
    );
    expect(t.rows).toEqual(expected);
    expectAligned(t, 2);
  });

  it('splits the gap by whether the request opened its connection, for the endpoints that say so', () => {
    const run = onlyRun(report);
    const t = tableAfter(renderRun(run), 'Gap by connection (requests that opened a connection vs those that reused one; ms):');
    expect(t.header).toEqual(['Endpoint', 'Opened', 'Gap p50', 'p99', 'mean', 'Reused', 'Gap p50', 'p99', 'mean']);
    const says = (ep: EndpointReport): boolean => ep.gapByConnection !== null && ep.gapByConnection.opened.count + ep.gapByConnection.reused.count > 0;
    const cells = (ep: EndpointReport): string[] => {
      const g = ep.gapByConnection;
      if (g === null) return [ep.name, ...Array<string>(8).fill('–')];
      const side = (c: typeof g.opened): string[] => [String(c.count), fmt(c.gapMs?.p50), fmt(c.gapMs?.p99), fmt(c.gapMs?.mean)];
      return [ep.name, ...side(g.opened), ...side(g.reused)];
    };
    expect(run.endpoints.filter(says).length).toBeGreaterThan(0);
    expect(t.rows).toEqual([...run.endpoints.filter(says), run.total].map(cells));
    expectAligned(t, 1);
  });

  it('states each service\'s clock offset with its sign, precision and basis, and the background traffic by service', () => {
    const run = onlyRun(report);
    const lines = renderRun(run).split('\n');
    const at = lines.indexOf('Clock offsets (server clock − generator clock, NTP-style from the pairs with the least delay):');
    expect(at).toBeGreaterThan(0);
    expect(run.clockOffsets.length).toBeGreaterThan(0);
    const offsetLines = lines.slice(at + 1).filter((l) => /^ {2}\S+: [+-]\d/.test(l));
    expect(offsetLines).toEqual(
      run.clockOffsets.map(
        (o) => `  ${o.service}: ${o.offsetMs >= 0 ? '+' : '-'}${Math.abs(o.offsetMs).toFixed(3)} ms from ${o.trusted} of ${o.samples} pairs (delay ≤ ${o.delayMs.toFixed(3)} ms, ${o.method})`,
      ),
    );
    const b = run.background;
    expect(b.count).toBeGreaterThan(0);
    const bg = lines.indexOf(`Background traffic (server spans in the run's window from no load-test trace, not in the figures above): ${b.count}`);
    expect(bg).toBeGreaterThan(at);
    expect(lines[bg + 1]).toBe(`  by service: ${b.services.map((s) => `${s.service} ${s.count}`).join(', ')}`);
    expect(lines[bg + 2]).toBe(`  server ms p50 ${fmt(b.serverMs.p50)}, p99 ${fmt(b.serverMs.p99)}; most common: ${b.topNames.slice(0, 3).map((n) => `${n.name} (${n.count})`).join(', ')}`);
  });

  it('lists odd data under its own heading, one line per kind with its count', () => {
    const text = renderRun(onlyRun(report));
    const lines = text.split('\n');
    const at = lines.indexOf('Odd data (counted, kept out of the figures where it would distort them):');
    expect(at).toBeGreaterThan(0);
    const odd = lines.slice(at + 1).filter((l) => l.startsWith('  '));
    expect(odd.length).toBeGreaterThan(0);
    for (const l of odd) expect(l).toMatch(/^ {2}\w+: \d+ — \S/);
  });

  it('leaves out the sections a run has no data for: Locust runs have no connection split and no background', () => {
    expect(locust.runs.length).toBe(2);
    const text = renderTable(locust);
    for (const heading of ['Gap by connection', 'Background traffic', 'cut off by the end of the run']) expect(text).not.toContain(heading);
    // One run after the other, a blank line between them, and nothing after the last (no other client traffic).
    const [first, second] = locust.runs as [RunReport, RunReport];
    expect(text).toBe(`${renderRun(first)}\n${renderRun(second)}`);
    expect(renderRun(first).endsWith('\n')).toBe(true);
    expect(renderRun(second).startsWith(`Run ${second.label}  service `)).toBe(true);
  });
});

describe('the text report of edge cases, from a Report changed by hand', () => {
  it('counts requests cut off by the end of the run, prints warnings, and has no blank line for an empty summary', () => {
    const run: RunReport = { ...onlyRun(report), cutOff: 7, summary: [], warnings: [{ code: 'still-receiving', message: 'the receiver was still \u001b[2Jreceiving' }] };
    const lines = renderRun(run).split('\n');
    expect(lines[2]).toBe('  cut off by the end of the run: 7 requests (no response measured; kept out of every figure below)');
    expect(lines[3]).toBe('  WARNING: the receiver was still ?[2Jreceiving');
    expect(lines[4]).toBe('');
    // With no summary, the next line is the findings or the endpoint table, not another blank.
    expect(lines[5]).not.toBe('');
  });

  it('signs a negative clock offset with its minus only, and notes the residual pairs that still stick out', () => {
    const run = onlyRun(report);
    const o = run.clockOffsets[0];
    if (o === undefined) throw new Error('no clock offset in the scenario');
    const changed: RunReport = {
      ...run,
      clockOffsets: [
        { ...o, service: 'neg', offsetMs: -2.5, residual: { pairs: 0, p50Ms: 0, maxMs: 0 } },
        { ...o, service: 'zero', offsetMs: 0, residual: { pairs: 2, p50Ms: 0.25, maxMs: 1.5 } },
      ],
    };
    const lines = renderRun(changed).split('\n');
    const neg = lines.findIndex((l) => l.startsWith('  neg: '));
    expect(lines[neg]).toMatch(/^ {2}neg: -2\.500 ms from /);
    // No residual line under an offset without residual pairs.
    expect(lines[neg + 1]?.startsWith('  zero: +0.000 ms from ')).toBe(true);
    expect(lines[neg + 2]).toBe(`    2 of ${o.samples} corrected server spans still stick out of their client span, by p50 0.250 ms, max 1.500 ms`);
  });

  it('names other client traffic after the runs, and prints no background section without background spans', () => {
    const run: RunReport = { ...onlyRun(report), background: { ...onlyRun(report).background, count: 0 } };
    const text = renderTable({ ...report, runs: [run], otherClientTraffic: [{ service: 'cron', rootSpans: 12 }, { service: 'batch\u0007', rootSpans: 3 }] } as Report);
    expect(text).not.toContain('Background traffic');
    expect(text.endsWith(
      '\nOther client traffic (trace-root CLIENT spans from services that are no load generator; not runs, not in any figure): cron 12, batch? 3\n  (name a service with --service NAME to analyse its spans as a load test)\n',
    )).toBe(true);
  });

  it('prints – for figures without data, never 0, and the three magnitudes of a figure', () => {
    const run = onlyRun(report);
    const ep: EndpointReport = {
      ...run.total,
      name: 'edge',
      serverMs: null,
      gapMs: null,
      phasesMs: null,
      gapByConnection: null,
      tailPhasesMs: { slowest10: null, slowest1: null },
      clientMs: { ...run.total.clientMs, p50: 9.999, p99: 100 },
    };
    const text = renderRun({ ...run, endpoints: [ep], total: { ...ep, name: 'Aggregated', clientMs: { ...ep.clientMs, p50: 10, p99: 99.96 } } });
    expect(tableAfter(text, null).rows.map((r) => r.slice(4))).toEqual([
      ['10.00', '100', '–', '–', '–', '–', '–', '–', '–'],
      ['10.0', '100.0', '–', '–', '–', '–', '–', '–', '–'],
    ]);
    expect(tableAfter(text, 'Where the gap went (mean ms per request; the parts add up to the mean gap):').rows).toEqual(
      ['edge', 'Aggregated'].map((name) => [name, ...Array<string>(10).fill('–'), 'no pair to split']),
    );
    // No tail and no connection split without the data for them.
    expect(text).not.toContain('The tail:');
    expect(text).not.toContain('Gap by connection');
  });
});
