// The store's write path (model/store.ts) driven in this thread: a span delivered again is counted
// as a duplicate and not stored, also within one batch and next to new spans whose columns must
// stay right; a failed batch stores nothing and forgets the ids it saw, so its retry stores them.
// (The receiver writes on a worker thread, where mutation testing cannot see; its own tests send
// the same things over OTLP.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attrString, type TracesRequest } from '../model/otlp.ts';
import { spanRows } from '../model/span-rows.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder, usersMetric } from './helpers/analyzer-traces.ts';
import { metricPointCount } from './helpers/stored-metrics.ts';
import { readStoredSpans, resourceCount } from './helpers/stored-spans.ts';

let dir: string;
let path: string;
let store: SpanStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-model-store-'));
  path = join(dir, 'spans.db');
  store = SpanStore.open(path);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Requests with `n` load-test roots each (one server child under every other one), ids unique per builder. */
function requests(b: TraceBuilder, n: number, name: string): TracesRequest {
  for (let i = 0; i < n; i++) {
    const root = b.root({ startMs: 1000 * i, requestName: `/${name}/${i}`, durationMs: 20 + i });
    if (i % 2 === 0) b.server(root, { service: 'shop', name: `server ${name} ${i}`, beforeMs: 2, durationMs: 10 });
  }
  return b.take();
}
const spanCount = (r: TracesRequest): number => r.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
const both = (a: TracesRequest, b: TracesRequest): TracesRequest => ({ resourceSpans: [...a.resourceSpans, ...b.resourceSpans] });
const names = (): string[] => readStoredSpans(path).map((s) => s.name).sort();

describe('SpanStore writes', () => {
  it('stores a request once and counts every span of it delivered again as a duplicate', () => {
    const first = requests(new TraceBuilder(1), 4, 'a');
    const n = spanCount(first);
    expect(store.insertTraces(first, 111)).toEqual({ stored: n, duplicates: 0 });
    expect(store.insertTraces(first, 222)).toEqual({ stored: 0, duplicates: n });
    const rows = readStoredSpans(path);
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => Number((r as unknown as { received_at_ms: bigint }).received_at_ms)))).toEqual(new Set([111]));
  });

  it('stores the new spans of a request that also carries old ones, each with its own columns', () => {
    const b = new TraceBuilder(2);
    const old = requests(b, 3, 'old');
    store.insertTraces(old);
    const fresh = requests(b, 3, 'new');
    // The old spans come first: their columns are skipped, and the new spans' must not shift.
    expect(store.insertTraces(both(old, fresh))).toEqual({ stored: spanCount(fresh), duplicates: spanCount(old) });
    const expected = [...old.resourceSpans, ...fresh.resourceSpans].flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
    expect(names()).toEqual(expected.sort());
    const byName = new Map(readStoredSpans(path).map((s) => [s.name, s]));
    for (const rs of fresh.resourceSpans) {
      for (const s of rs.scopeSpans.flatMap((ss) => ss.spans)) {
        const row = byName.get(s.name)!;
        expect(Buffer.from(row.span_id).equals(Buffer.from(s.spanId)), s.name).toBe(true);
        expect(row.service_name).toBe(attrString(rs.resource.attributes, 'service.name'));
      }
    }
  });

  it('answers each request of a batch on its own, a span repeated within the batch counted once', () => {
    const b = new TraceBuilder(3);
    const one = requests(b, 2, 'one');
    const two = requests(b, 4, 'two');
    const results = store.writeBatch([{ spans: spanRows(one) }, { spans: spanRows(both(two, one)) }, { spans: spanRows(two) }]);
    expect(results).toEqual([
      { stored: spanCount(one), duplicates: 0 },
      { stored: spanCount(two), duplicates: spanCount(one) },
      { stored: 0, duplicates: spanCount(two) },
    ]);
    expect(readStoredSpans(path)).toHaveLength(spanCount(one) + spanCount(two));
  });

  it('stores nothing of a batch that fails, and stores all of it when retried, resources included', () => {
    const b = new TraceBuilder(4);
    const good = requests(b, 3, 'good');
    // Rows naming a resource they do not carry: the write fails after the good job's spans went in.
    const broken = { ...spanRows(requests(b, 1, 'broken')), resources: [] };
    expect(() => store.writeBatch([{ spans: spanRows(good) }, { spans: broken }])).toThrow();
    expect(readStoredSpans(path)).toHaveLength(0);
    expect(store.insertTraces(good)).toEqual({ stored: spanCount(good), duplicates: 0 });
    expect(readStoredSpans(path)).toHaveLength(spanCount(good));
    // The resource rows the failed batch inserted were rolled back too: the retry made them again.
    expect(new Set(readStoredSpans(path).map((s) => s.service_name))).toEqual(new Set(['firstspan', 'shop']));
  });
});

describe('SpanStore files', () => {
  it('counts stored metric points, and finds the resource rows an earlier writer of the file made', () => {
    const metrics = usersMetric({ points: [{ atMs: 0, users: 1 }, { atMs: 1000, users: 2 }, { atMs: 2000, users: 3 }] });
    expect(store.insertMetrics(metrics)).toEqual({ stored: 3, duplicates: 0 });
    store.insertTraces(requests(new TraceBuilder(5), 2, 'first'));
    const resources = resourceCount(path);
    store.close();
    store.close(); // a second close is harmless
    store = SpanStore.open(path);
    store.insertTraces(requests(new TraceBuilder(6), 2, 'second'));
    expect(store.insertMetrics(metrics).stored).toBe(3);
    expect(resourceCount(path)).toBe(resources);
    expect(metricPointCount(path)).toBe(6);
  });

  it('refuses, with FS_ERR_STORE_OPEN and what is wrong, a missing file to read and a file that is not SQLite', () => {
    const missing = join(dir, 'missing.db');
    expect(() => SpanStore.open(missing, { readonly: true })).toThrow(expect.objectContaining({ code: 'FS_ERR_STORE_OPEN', message: `database ${missing} does not exist` }));
    const text = join(dir, 'notes.db');
    writeFileSync(text, 'these are notes, not a database\n'.repeat(200));
    for (const readonly of [true, false]) {
      expect(() => SpanStore.open(text, { readonly })).toThrow(expect.objectContaining({ code: 'FS_ERR_STORE_OPEN', message: expect.stringContaining(`${text} is not a usable SQLite database`) }));
    }
    // A store just created is a firstspan database for a reader.
    const reader = SpanStore.open(path, { readonly: true });
    expect(reader.migratedFrom).toBeUndefined();
    reader.close();
  });
});
