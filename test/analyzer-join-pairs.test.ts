// What the hash join (analyzer/join-pairs.ts) takes as a root's server child and as background
// traffic, through the real store and analyze(): a SERVER span of the generator's own service is
// no server child; a background span that ends before it starts is counted but kept out of the
// background latency; the names of background traffic are bounded (MAX_BACKGROUND_NAMES), the
// ones already seen still counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { MAX_BACKGROUND_NAMES } from '../analyzer/join-pairs.ts';
import type { RunReport } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanKind } from '../model/otlp.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-join-pairs-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function analysed(name: string, build: (b: TraceBuilder) => void): Promise<RunReport> {
  const db = join(dir, name);
  const store = SpanStore.open(db);
  const b = new TraceBuilder(9);
  build(b);
  store.insertTraces(b.take());
  store.close();
  const shards = openShards([db]);
  try {
    const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1, settleMs: 0 });
    expect(report.runs).toHaveLength(1);
    return report.runs[0] as RunReport;
  } finally {
    closeShards(shards);
  }
}

describe('the join', () => {
  it('takes no SERVER span of the generator\'s own service as a root\'s server child', async () => {
    const run = await analysed('own.db', (b) => {
      for (let i = 0; i < 4; i++) {
        const root = b.root({ startMs: i * 100, requestName: '/own', durationMs: 20 });
        // A SERVER child from the generator's own service (a proxy in the same process, say)…
        b.span(root, { service: 'firstspan', name: 'GET /own', kind: SpanKind.SERVER, startMs: root.startMs + 2, durationMs: 5, runId: 'run-1' });
        // …and, on half the roots, a real one from the shop.
        if (i % 2 === 0) b.server(root, { beforeMs: 1, durationMs: 8, offsetMs: 0 });
      }
    });
    const own = run.endpoints.find((e) => e.name === '/own');
    expect(own).toMatchObject({ count: 4, matched: 2 });
    expect(own?.serverMs?.max).toBe(8);
  });

  it('counts background spans that end before they start, and keeps them out of the background latency', async () => {
    const run = await analysed('background.db', (b) => {
      const root = b.root({ startMs: 0, requestName: '/a', durationMs: 20 });
      b.server(root, { beforeMs: 1, durationMs: 5, offsetMs: 0 });
      for (let i = 0; i < 5; i++) b.background({ startMs: 10 + i, durationMs: 3, name: 'GET /health' });
      b.background({ startMs: 30, durationMs: -2, name: 'GET /broken' });
      b.root({ startMs: 60, requestName: '/a', durationMs: 20 });
    });
    expect(run.background.count).toBe(6);
    expect(run.background.services).toEqual([{ service: 'shop', count: 6 }]);
    expect(run.background.serverMs.p99).toBe(3);
    expect(run.background.serverMs.p50).toBe(3);
    expect(run.background.serverMs.mean).toBe(3);
    expect(run.background.topNames.map((n) => [n.name, n.count])).toEqual([
      ['GET /health', 5],
      ['GET /broken', 1],
    ]);
  });

  it('keeps the first names of background traffic up to the cap, and still counts the ones it kept', async () => {
    const run = await analysed('names.db', (b) => {
      b.root({ startMs: 0, requestName: '/a', durationMs: 20 });
      for (let i = 0; i < MAX_BACKGROUND_NAMES; i++) b.background({ startMs: 1 + i / 100, durationMs: 1, name: `GET /n${i}` });
      // Past the cap: a new name is not kept however often it comes; a kept one counts on.
      for (let i = 0; i < 5; i++) b.background({ startMs: 20 + i, durationMs: 1, name: 'GET /late' });
      for (let i = 0; i < 3; i++) b.background({ startMs: 30 + i, durationMs: 1, name: 'GET /n7' });
      b.root({ startMs: 60, requestName: '/a', durationMs: 20 });
    });
    expect(run.background.count).toBe(MAX_BACKGROUND_NAMES + 8);
    expect(run.background.topNames.some((n) => n.name === 'GET /late')).toBe(false);
    expect(run.background.topNames[0]).toEqual({ name: 'GET /n7', count: 4 });
  });
});
