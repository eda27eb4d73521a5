// A database written by the previous schema version (1: a UNIQUE index on ids and the analyzer's
// indexes maintained on every insert) is read as it is by the analyzer, and migrated when a writer
// opens it: same rows, same analysis, and new spans append without the old indexes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type Report } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SCHEMA_VERSION, SpanStore } from '../model/store.ts';
import { writeScenario } from './helpers/analyzer-scenario.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';
import { spanIndexes, storedSchemaVersion, writeV1Store } from './helpers/store-file.ts';
import { spanCount } from './helpers/stored-spans.ts';

const V1_DDL = readFileSync(new URL('./fixtures/store-schema-v1.sql', import.meta.url), 'utf8');
let dir: string;
let reference: Report;

async function analyzeFile(path: string): Promise<Report> {
  const shards = openShards([path]);
  try {
    return await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, threads: 1, settleMs: 0 });
  } finally {
    closeShards(shards);
  }
}

/** The report without what differs between two files holding the same spans. */
function comparable(report: Report): unknown {
  return report.runs.map((r) => ({ ...r, slowestTraces: r.slowestTraces.map((w) => ({ ...w, spans: w.spans.length })) }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-migration-'));
  writeScenario(join(dir, 'current.db'));
  reference = await analyzeFile(join(dir, 'current.db'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a version 1 database', () => {
  it('is read as it is by the analyzer, with the same figures', async () => {
    const v1 = join(dir, 'v1-read.db');
    writeV1Store(v1, join(dir, 'current.db'), V1_DDL);
    expect(spanIndexes(v1)).toContain('spans_by_id');
    const report = await analyzeFile(v1);
    expect(report.runs.length).toBeGreaterThan(0);
    expect(comparable(report)).toEqual(comparable(reference));
    // Reading changed nothing: still version 1, still its indexes.
    expect(spanIndexes(v1)).toContain('spans_by_id');
  });

  it('is migrated when a writer opens it: same rows and figures, then appends without the unique index', async () => {
    const v1 = join(dir, 'v1-write.db');
    writeV1Store(v1, join(dir, 'current.db'), V1_DDL);
    const rows = spanCount(v1);
    const store = SpanStore.open(v1);
    expect(store.migratedFrom).toBe(1);
    expect(storedSchemaVersion(v1)).toBe(String(SCHEMA_VERSION));
    // New spans append (a service of their own, no root: the run's figures do not change).
    const b = new TraceBuilder(99);
    for (let i = 0; i < 3; i++) b.background({ service: 'late-service', startMs: 900_000 + i, durationMs: 1 });
    expect(store.insertTraces(b.take()).stored).toBe(3);
    store.close();
    expect(spanCount(v1)).toBe(rows + 3);
    expect(spanIndexes(v1)).not.toContain('spans_by_id');
    expect(comparable(await analyzeFile(v1))).toEqual(comparable(reference));
    // Opening it again is not a migration.
    const again = SpanStore.open(v1);
    expect(again.migratedFrom).toBeUndefined();
    again.close();
  });
});
