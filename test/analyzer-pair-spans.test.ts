// The pairing pass (analyzer/pair-spans.ts) fed pair rows directly, checked against counts worked
// out here from the same made-up roots: every per-endpoint counter, every kind of odd data, roots
// cut off by the end of the run, the gap split by connection, the largest gaps per endpoint; two
// accumulators merged through a structured clone (worker threads) equal one over all rows; and more
// endpoint names than the cap fold into one, however many arrive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';
import { MAX_ENDPOINTS, MAX_PLAUSIBLE_NS, OTHER_ENDPOINT, RunAccumulator, type RunSnapshot } from '../analyzer/pair-spans.ts';
import type { PairRow } from '../model/span-reads.ts';
import { seededRandom } from './helpers/seeded-random.ts';

const SHOP = 7;
const SERVICES = new Map([[SHOP, 'shop']]);
const ENDPOINTS = ['/a', '/b', '/c', '/d'];

interface Root {
  rowid: number;
  endpoint: string;
  error: boolean;
  /** 0 opened its connection, 1 reused one, 2 does not say. */
  connection: number;
  clientNs: number;
  phases: boolean;
  /** [relative start, duration] of each server child; a negative duration is a broken child. */
  children: Array<[number, number]>;
  cutOff: boolean;
}

function roots(n: number, seed: number): Root[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = r();
    const clientNs = x < 0.03 ? -5e6 : x < 0.05 ? MAX_PLAUSIBLE_NS + 1 : 1e6 + Math.round(r() * 50e6);
    const k = Math.floor(r() * 4);
    const children: Array<[number, number]> = Array.from({ length: k }, () => {
      const y = r();
      const base = Math.max(clientNs, 1e6);
      // Mostly inside the client span; some start before it (a clock offset), some end after, some are broken.
      const rel = y < 0.1 ? -2e6 : Math.round(base * (0.1 + r() * 0.2));
      const dur = y > 0.95 ? -1000 : y > 0.9 ? base * 2 : Math.round((base * (0.1 + r() * 0.4)) / Math.max(1, k));
      return [rel, dur];
    });
    return { rowid: i + 1, endpoint: ENDPOINTS[Math.floor(r() * ENDPOINTS.length)] as string, error: r() < 0.2, connection: Math.floor(r() * 3), clientNs, phases: r() < 0.5, children, cutOff: r() < 0.03 };
  });
}

function rowsOf(list: Root[]): PairRow[] {
  return list.flatMap((root) => {
    const flags = (root.error ? 1 : 0) | (root.connection << 1);
    const head = [root.rowid, root.endpoint, flags, root.clientNs, 0] as const;
    const phases = root.phases ? [0.5, root.clientNs / 2e6, 0.1, 0.2, 0.3] : [null, null, null, null, null];
    if (root.children.length === 0) return [[...head, ...phases, null, null, null] as PairRow];
    return root.children.map(([rel, dur]) => [...head, ...phases, SHOP, rel, dur] as PairRow);
  });
}

function accumulate(list: Root[], topN = 3): RunAccumulator {
  const acc = new RunAccumulator(topN);
  acc.startShard(SERVICES, 0, undefined, new Set(list.filter((x) => x.cutOff).map((x) => x.rowid)));
  for (const row of rowsOf(list)) acc.row(...row);
  acc.endShard();
  return acc;
}

/** Every counter, worked out from the roots. */
function expected(list: Root[]) {
  const eps = new Map<string, Record<string, number>>();
  const odd = { clientEndBeforeStart: 0, implausibleDuration: 0, serverEndBeforeStart: 0, serverLongerThanClient: 0, serverOutsideClientSpan: 0, duplicateRootSpans: 0, endpointsFolded: 0 };
  const gaps = new Map<string, Array<{ gapNs: number; rowid: number }>>();
  for (const root of list) {
    const e = eps.get(root.endpoint) ?? { count: 0, matched: 0, errors: 0, multipleChildren: 0, extraChildren: 0, newConnections: 0, connectionKnown: 0, cutOff: 0, client: 0, server: 0, gap: 0, gapOpened: 0, gapReused: 0 };
    eps.set(root.endpoint, e);
    if (root.cutOff) {
      e.cutOff! += 1;
      continue;
    }
    const good = root.children.filter(([, dur]) => dur >= 0);
    e.count! += 1;
    if (root.error) e.errors! += 1;
    if (root.connection === 0) e.newConnections! += 1;
    if (root.connection !== 2) e.connectionKnown! += 1;
    odd.serverEndBeforeStart += root.children.length - good.length;
    if (good.length > 0) e.matched! += 1;
    if (good.length > 1) {
      e.multipleChildren! += 1;
      e.extraChildren! += good.length - 1;
    }
    if (root.clientNs < 0) odd.clientEndBeforeStart += 1;
    else if (root.clientNs > MAX_PLAUSIBLE_NS) odd.implausibleDuration += 1;
    else {
      e.client! += 1;
      if (good.length === 0) continue;
      const serverNs = good.reduce((n, [, dur]) => n + dur, 0);
      e.server! += 1;
      const t2 = Math.min(...good.map(([rel]) => rel));
      const t3 = Math.max(...good.map(([rel, dur]) => rel + dur));
      if (t2 < 0 || t3 > root.clientNs) odd.serverOutsideClientSpan += 1;
      if (serverNs > root.clientNs) {
        odd.serverLongerThanClient += 1;
        continue;
      }
      e.gap! += 1;
      if (root.connection === 0) e.gapOpened! += 1;
      if (root.connection === 1) e.gapReused! += 1;
      gaps.set(root.endpoint, [...(gaps.get(root.endpoint) ?? []), { gapNs: root.clientNs - serverNs, rowid: root.rowid }]);
    }
  }
  return { eps, odd, gaps };
}

function countersOf(acc: RunAccumulator): Map<string, Record<string, number>> {
  return new Map(
    [...acc.endpoints.values()].map((e) => [
      e.name,
      {
        count: e.count,
        matched: e.matched,
        errors: e.errors,
        multipleChildren: e.multipleChildren,
        extraChildren: e.extraChildren,
        newConnections: e.newConnections,
        connectionKnown: e.connectionKnown,
        cutOff: e.cutOff,
        client: e.client.count,
        server: e.server.count,
        gap: e.gap.count,
        gapOpened: e.gapOpened.count,
        gapReused: e.gapReused.count,
      },
    ]),
  );
}

const topOf = (acc: RunAccumulator): string[] => acc.top.map((c) => `${c.endpoint} ${c.rowid} ${c.gapNs}`).sort();

describe('pairing pass', () => {
  const list = roots(4000, 21);

  it('counts every root, pair and oddity per endpoint exactly as the rows say', () => {
    const acc = accumulate(list);
    const want = expected(list);
    expect(countersOf(acc)).toEqual(want.eps);
    expect(acc.odd).toEqual(want.odd);
    expect(acc.rootSpans).toBe(list.length);
    // Every kind of odd data is in the sample.
    for (const k of ['clientEndBeforeStart', 'implausibleDuration', 'serverEndBeforeStart', 'serverLongerThanClient', 'serverOutsideClientSpan'] as const) expect(want.odd[k], k).toBeGreaterThan(0);
  });

  it('keeps the largest gaps of each endpoint, however they arrive', () => {
    const want = expected(list);
    const top = [...want.gaps.entries()].flatMap(([endpoint, g]) => [...g].sort((a, b) => b.gapNs - a.gapNs).slice(0, 3).map((x) => `${endpoint} ${x.rowid} ${x.gapNs}`));
    expect(topOf(accumulate(list))).toEqual(top.sort());
    expect(topOf(accumulate([...list].reverse()))).toEqual(top.sort());
    expect(accumulate(list, 0).top).toEqual([]);
  });

  it('gives, merged from two halves through a structured clone, exactly what one pass over all rows gives', () => {
    const whole = accumulate(list);
    const a = accumulate(list.filter((x) => x.rowid % 2 === 0));
    const b = accumulate(list.filter((x) => x.rowid % 2 === 1));
    a.absorb(structuredClone(b.snapshot()) as RunSnapshot);
    expect(countersOf(a)).toEqual(countersOf(whole));
    expect(a.odd).toEqual(whole.odd);
    expect(a.rootSpans).toBe(whole.rootSpans);
    expect(topOf(a)).toEqual(topOf(whole));
    for (const [name, ep] of whole.endpoints) {
      const merged = a.endpoints.get(name);
      for (const p of [50, 90, 99]) {
        expect(merged?.gap.percentileNs(p)).toBe(ep.gap.percentileNs(p));
        expect(merged?.client.percentileNs(p)).toBe(ep.client.percentileNs(p));
      }
    }
    expect([...a.offsets.keys()]).toEqual(['shop']);
    expect(a.offsets.get('shop')?.estimate()).toEqual(whole.offsets.get('shop')?.estimate());
  });

  it('reports progress every 65,536 roots', () => {
    const acc = new RunAccumulator(0);
    const seen: number[] = [];
    acc.startShard(SERVICES, 0, (n) => seen.push(n));
    for (let i = 1; i <= 140_000; i++) acc.row(i, '/a', 4, 1e6, 0, null, null, null, null, null, null, null, null);
    acc.endShard();
    expect(seen).toEqual([65_536, 131_072]);
  });
});

describe('endpoint cap', () => {
  it('keeps the first names up to the cap, folds every later one into one endpoint, and counts the folded requests', () => {
    const acc = new RunAccumulator(0);
    acc.startShard(SERVICES, 0);
    let rowid = 0;
    const request = (name: string): void => void acc.row(++rowid, name, 4, 1e6, 0, null, null, null, null, null, null, null, null);
    for (let i = 0; i < MAX_ENDPOINTS + 20; i++) request(`/e${i}`);
    // A kept name stays its own; a folded one is folded again.
    request('/e0');
    request(`/e${MAX_ENDPOINTS + 3}`);
    acc.endShard();
    expect(acc.endpoints.size).toBe(MAX_ENDPOINTS + 1);
    expect(acc.endpoints.get('/e0')?.count).toBe(2);
    expect(acc.endpoints.get(`/e${MAX_ENDPOINTS - 1}`)?.count).toBe(1);
    expect(acc.endpoints.has(`/e${MAX_ENDPOINTS}`)).toBe(false);
    expect(acc.endpoints.get(OTHER_ENDPOINT)?.count).toBe(21);
    expect(acc.odd.endpointsFolded).toBe(21);
    expect(acc.rootSpans).toBe(MAX_ENDPOINTS + 22);
  });
});

describe('endpoint cap, end to end', () => {
  it('analyses a run with more distinct request names than the cap, and says how many requests were folded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firstspan-endpoint-cap-'));
    try {
      const db = join(dir, 'many.db');
      const store = SpanStore.open(db);
      const b = new TraceBuilder(5);
      for (let i = 0; i < MAX_ENDPOINTS + 10; i++) {
        const root = b.root({ startMs: i, requestName: `/item/${i}`, durationMs: 5 });
        b.server(root, { beforeMs: 1, durationMs: 2, offsetMs: 0 });
      }
      store.insertTraces(b.take());
      store.close();
      const shards = openShards([db]);
      try {
        const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1 });
        const run = report.runs[0];
        expect(run?.endpoints.length).toBe(MAX_ENDPOINTS + 1);
        expect(run?.endpoints.find((e) => e.name === OTHER_ENDPOINT)?.count).toBe(10);
        expect(run?.oddities.endpointsFolded).toBe(10);
        expect(run?.total.count).toBe(MAX_ENDPOINTS + 10);
        expect(renderTable(report)).toContain(`  endpointsFolded: 10 — requests beyond the cap of distinct endpoint names`);
      } finally {
        closeShards(shards);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
