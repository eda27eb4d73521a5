// A span delivered twice (an OTLP client retrying after a lost answer) is stored once, counted as a
// duplicate in the receiver's summary, and analysed once. Behaviour, not the store's internals:
// spans go in over real OTLP/HTTP, the count comes from the receiver's own counters (what its stop
// line prints), the analysis from the analyzer's API on the file the receiver wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import type { TracesRequest } from '../model/otlp.ts';
import { startReceiver } from '../receiver/start.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';
import { otlpJson } from './helpers/otlp-json.ts';
import { JSON_TYPE, post } from './helpers/receiver-http.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-duplicates-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two requests, each a root CLIENT span with its SERVER child. */
function twoRequests(): TracesRequest {
  const b = new TraceBuilder(7);
  const phases = { blocked: 0.5, dns: 0, connect: 0, tls: 0, sending: 0.25, waiting: 14, receiving: 1.25 };
  for (const startMs of [100, 200]) {
    const root = b.root({ startMs, phases });
    b.server(root, { beforeMs: 2, durationMs: 10 });
  }
  return b.take();
}

describe('a span delivered twice', () => {
  it('is stored once, counted as a duplicate by the receiver, and analysed once', async () => {
    const db = join(dir, 'twice.db');
    const body = otlpJson(twoRequests());
    const rx = await startReceiver({ db, port: 0 });
    try {
      expect((await post(rx.url, '/v1/traces', body, JSON_TYPE)).status).toBe(200);
      expect(rx.ingest.counters).toMatchObject({ stored: 4, duplicates: 0 });
      // The client did not get the answer and sends the same batch again.
      expect((await post(rx.url, '/v1/traces', body, JSON_TYPE)).status).toBe(200);
      expect(rx.ingest.counters).toMatchObject({ stored: 4, duplicates: 4, rejected: 0 });
    } finally {
      await rx.close();
    }
    const shards = openShards([db]);
    try {
      const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0 });
      expect(report.runs).toHaveLength(1);
      expect(report.runs[0]).toMatchObject({ rootSpans: 2, matched: 2 });
      expect(report.runs[0]!.total.count).toBe(2);
      expect(report.runs[0]!.oddities.duplicateRootSpans).toBe(0);
    } finally {
      closeShards(shards);
    }
  });
});
