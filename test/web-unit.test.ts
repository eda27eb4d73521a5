// The web UI's pure parts: the live gap's join and its coverage warning, the flags that decide
// whether the page is served, the basic-auth rule, and Locust's /stats/requests shape.
import { describe, expect, it } from 'vitest';
import type { TailSpan } from '../model/span-tail.ts';
import { parseRunArgs } from '../generator/run-options.ts';
import { GRACE_MS, LiveGap, RECENT_MS } from '../generator/web/live-gap.ts';
import { escapeHtml, renderPage } from '../generator/web/page.ts';

let row = 0;
const root = (id: number, opts: { runId?: string; ms: number; opened?: boolean; name?: string }): TailSpan => ({
  rowid: ++row,
  traceId: `T${id}`,
  spanId: `S${id}`,
  parentSpanId: null,
  kind: 3,
  serviceName: 'firstspan',
  runId: opts.runId ?? 'r1',
  name: `GET ${opts.name ?? '/a'}`,
  requestName: opts.name ?? '/a',
  httpMethod: 'GET',
  durationNs: opts.ms * 1e6,
  connectionReused: opts.opened === undefined ? null : opts.opened ? 0 : 1,
});
const server = (id: number, ms: number): TailSpan => ({
  rowid: ++row,
  traceId: `T${id}`,
  spanId: `V${id}`,
  parentSpanId: `S${id}`,
  kind: 2,
  serviceName: 'target',
  runId: null,
  name: 'GET /a',
  requestName: null,
  httpMethod: null,
  durationNs: ms * 1e6,
  connectionReused: null,
});

describe('LiveGap', () => {
  it('joins each root with its server child in either arrival order, per endpoint and by connection', () => {
    const gap = new LiveGap('r1');
    const t0 = 1_000_000;
    gap.add([root(1, { ms: 160, opened: true }), server(1, 10), server(2, 10)], t0);
    gap.add([root(2, { ms: 12, opened: false }), root(3, { ms: 50, runId: 'other' }), server(3, 5)], t0 + 10);
    const s = gap.snapshot(t0 + 20);
    expect(s.endpoints.map((e) => e.name)).toEqual(['GET /a']);
    const a = s.endpoints[0]!;
    expect(a.roots).toBe(2); // the other run's root is not this test's
    expect(a.matched).toBe(2);
    expect(a.coverage).toBe(1);
    expect(a.openedShare).toBe(0.5);
    expect(a.openedGapP50).toBeCloseTo(150, 0);
    expect(a.reusedGapP50).toBeCloseTo(2, 0);
    expect(s.warnings).toEqual([]);
  });

  it('judges a root without a server span only after the grace period, and warns when recent coverage drops', () => {
    const gap = new LiveGap('r1');
    const t0 = 5_000_000;
    const spans: TailSpan[] = [];
    for (let i = 100; i < 110; i++) spans.push(root(i, { ms: 20, name: '/b' }), server(i, 15));
    gap.add(spans, t0);
    // The target stops propagating: roots arrive with no server child.
    gap.add([100, 101, 102, 103, 104, 105].map((i) => root(i + 1000, { ms: 20, name: '/b' })), t0 + 1000);
    const early = gap.snapshot(t0 + GRACE_MS - 1);
    expect(early.endpoints[0]!.coverage).toBe(1);
    expect(early.warnings).toEqual([]);
    const late = gap.snapshot(t0 + 1000 + GRACE_MS);
    expect(late.endpoints[0]!.coverage).toBeCloseTo(10 / 16, 6);
    expect(late.endpoints[0]!.recentCoverage).toBeCloseTo(10 / 16, 6);
    expect(late.warnings).toHaveLength(1);
    expect(late.warnings[0]).toMatch(/GET \/b fell to 63 %/);
    // Old judgements leave the window: the warning is about now, not the whole run.
    expect(gap.snapshot(t0 + 1000 + GRACE_MS + RECENT_MS + 1).warnings).toEqual([]);
  });
});

describe('web UI flags', () => {
  const web = (argv: string[]) => {
    const r = parseRunArgs(['s.ts', ...argv]);
    if (!('options' in r)) throw new Error('problems' in r ? r.problems.list.join('; ') : 'help');
    return r.options.web;
  };
  const problems = (argv: string[]): string[] => {
    const r = parseRunArgs(['s.ts', ...argv]);
    return 'problems' in r ? r.problems.list : [];
  };
  it('serves the page unless --headless, or a flag that describes a run without one', () => {
    expect(web([]).enabled).toBe(true);
    expect(web([])).toMatchObject({ host: '127.0.0.1', port: 8089, autostart: false });
    expect(web(['--headless']).enabled).toBe(false);
    expect(web(['-t', '10s']).enabled).toBe(false);
    expect(web(['-i', '5']).enabled).toBe(false);
    expect(web(['--json']).enabled).toBe(false);
    expect(web(['-t', '10s', '--autostart']).enabled).toBe(true);
    expect(web(['--processes', '2']).enabled).toBe(false);
  });
  it('refuses a non-loopback address without --web-login, and a malformed login', () => {
    expect(problems(['--web-host', '0.0.0.0'])).toEqual([expect.stringMatching(/--web-login USER:PASSWORD/)]);
    expect(web(['--web-host', '0.0.0.0', '--web-login', 'me:secret']).login).toEqual({ user: 'me', password: 'secret' });
    expect(problems(['--web-login', 'nopassword'])).toEqual([expect.stringMatching(/USER:PASSWORD/)]);
    expect(problems(['--web-port', '70000'])).toEqual([expect.stringMatching(/65535/)]);
    expect(problems(['--db', 'x.db'])).toEqual([expect.stringMatching(/add --otel/)]);
    expect(problems(['--autoquit', '5'])).toEqual([expect.stringMatching(/--autostart/)]);
  });
});

describe('the page shell', () => {
  it('escapes what comes from the script and the command line', () => {
    const html = renderPage({ script: '<x>.ts', users: 1, spawnRate: 1, host: `http://h/"><script>alert(1)</script>`, otel: false, db: undefined, version: '0' });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain(escapeHtml('<x>.ts'));
    expect(html).not.toMatch(/https?:\/\/(?!h\/)[^"]*\.(js|css)/); // no CDN
  });
});
