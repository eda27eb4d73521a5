// The frame analyze() puts around a run's figures, on small stores written by hand, in process:
// its duration and the per-endpoint time buckets it implies, the still-receiving warning from the
// latest arrival in any shard, an endpoint whose every request was cut off (left out of the
// endpoints, counted in the total), and the clock offsets listed by service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalyzeOptions } from '../analyzer/analyze.ts';
import type { RunReport } from '../analyzer/report.ts';
import { Attr } from '../model/attributes.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder, type Phases } from './helpers/analyzer-traces.ts';
import { writeArrivalTime } from './helpers/store-file.ts';

let dir: string;
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const path = (name: string): string => join(dir, name);

function store(name: string, build: (b: TraceBuilder) => void, seed = 1): void {
  const b = new TraceBuilder(seed);
  build(b);
  const s = SpanStore.open(path(name));
  s.insertTraces(b.take());
  s.close();
}

const phases = (waiting: number): Phases => ({ blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0, waiting, receiving: 0 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-run-report-'));
  // 2.5 s of requests on /a, one of them cut off by the stop on /gone (no response, marked).
  store('run.db', (b) => {
    for (let i = 0; i <= 10; i++) {
      const root = b.root({ startMs: i * 240, requestName: '/a', phases: phases(12) });
      b.server(root, { beforeMs: 1, durationMs: 10, offsetMs: 50, service: 'zeta-api' });
      const other = b.root({ startMs: i * 240 + 5, requestName: '/b', phases: phases(12) });
      b.server(other, { beforeMs: 1, durationMs: 10, offsetMs: -20, service: 'alpha-api' });
    }
    b.root({ startMs: 2450, requestName: '/gone', durationMs: 10, error: true, httpStatus: null, attributes: { [Attr.REQUEST_CUT_OFF]: { boolValue: true } } });
  });
  // The same run's requests in two shards: one stored long ago, one just now.
  store('old.db', (b) => {
    for (let i = 0; i < 3; i++) b.root({ startMs: i * 100, requestName: '/a', durationMs: 5 });
  });
  store('new.db', (b) => {
    for (let i = 0; i < 3; i++) b.root({ startMs: 50 + i * 100, requestName: '/a', durationMs: 5 });
  }, 2);
  writeArrivalTime(path('old.db'), NOW - 60_000);
  writeArrivalTime(path('new.db'), NOW - 1_000);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(files: string[], options: Partial<AnalyzeOptions> = {}): Promise<RunReport> {
  const shards = openShards(files.map(path));
  try {
    const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1, settleMs: 0, ...options });
    expect(report.runs).toHaveLength(1);
    return report.runs[0] as RunReport;
  } finally {
    closeShards(shards);
  }
}

describe('the run report', () => {
  it('spans the first start to the last end, and buckets each endpoint by second within it', async () => {
    const r = await run(['run.db']);
    expect(r.durationS).toBeCloseTo(2.46, 9);
    expect(r.start).toBe(new Date(Date.parse(r.start)).toISOString());
    const a = r.endpoints.find((e) => e.name === '/a');
    expect(a?.clientOverTime.map((p) => [p.second, p.requests])).toEqual([
      [0, 5],
      [1, 4],
      [2, 2],
    ]);
  });

  it('leaves out an endpoint whose every request was cut off, and counts it in the total', async () => {
    const r = await run(['run.db']);
    expect(r.endpoints.map((e) => e.name).sort()).toEqual(['/a', '/b']);
    expect(r.cutOff).toBe(1);
    expect(r.total.cutOff).toBe(1);
    expect(r.rootSpans).toBe(22);
  });

  it('lists the clock offsets by service name', async () => {
    const r = await run(['run.db']);
    expect(r.clockOffsets.map((o) => [o.service, Math.round(o.offsetMs)])).toEqual([
      ['alpha-api', -20],
      ['zeta-api', 50],
    ]);
  });

  it('warns that spans may still arrive from the latest arrival in any shard, in either order', async () => {
    for (const files of [
      ['old.db', 'new.db'],
      ['new.db', 'old.db'],
    ]) {
      const r = await run(files, { nowMs: NOW, settleMs: 5_000 });
      expect(r.rootSpans).toBe(6);
      expect(r.warnings.map((w) => w.code)).toContain('still-receiving');
      expect(r.warnings.find((w) => w.code === 'still-receiving')?.message).toMatch(/^The last span of this run arrived 1\.0 s ago:/);
    }
    expect((await run(['old.db'], { nowMs: NOW, settleMs: 5_000 })).warnings.map((w) => w.code)).not.toContain('still-receiving');
    // Arrival in the future (another host's clock): 0 s ago, not negative.
    const early = await run(['new.db'], { nowMs: NOW - 3_000, settleMs: 5_000 });
    expect(early.warnings.find((w) => w.code === 'still-receiving')?.message).toMatch(/^The last span of this run arrived 0\.0 s ago:/);
  });
});
