// The live view's reader of a store being written (model/span-tail.ts): where the tail starts, and
// the CLIENT and SERVER spans after a rowid, oldest first, bounded, with the columns a live view needs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '../model/otlp.ts';
import { SpanTail } from '../model/span-tail.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';

let dir: string;
let path: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-span-tail-'));
  path = join(dir, 'spans.db');
  SpanStore.open(path).close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SpanTail', () => {
  it('starts at 0 on an empty store, then reads the CLIENT and SERVER spans written after a rowid, oldest first', () => {
    const tail = SpanTail.open(path);
    try {
      expect(tail.lastRowid()).toBe(0);
      expect(tail.after(0, 10)).toEqual([]);
      const b = new TraceBuilder(7);
      const root = b.root({ startMs: 0, requestName: '/cart', phases: { blocked: 0, dns: 0, connect: 2, tls: 0, sending: 1, waiting: 10, receiving: 1 } });
      const server = b.server(root, { service: 'shop', beforeMs: 1, durationMs: 8 });
      b.span(server, { service: 'shop', name: 'SELECT cart', kind: SpanKind.INTERNAL, startMs: 3, durationMs: 2 });
      const writer = SpanStore.open(path);
      writer.insertTraces(b.take());
      writer.close();

      const spans = tail.after(0, 10);
      expect(spans.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.SERVER]);
      const [client, srv] = spans;
      expect(client).toMatchObject({ serviceName: 'firstspan', runId: 'run-1', requestName: '/cart', httpMethod: 'GET', durationNs: 14_000_000, connectionReused: 0, parentSpanId: null });
      expect(client!.traceId).toBe(Buffer.from(root.traceId).toString('hex').toUpperCase());
      expect(srv).toMatchObject({ serviceName: 'shop', durationNs: 8_000_000, parentSpanId: client!.spanId, connectionReused: null });
      expect(srv!.rowid).toBeGreaterThan(client!.rowid);
      // The internal span is stored too: the newest rowid counts it.
      expect(tail.lastRowid()).toBe(srv!.rowid + 1);
      expect(tail.after(client!.rowid, 10)).toEqual([srv]);
      expect(tail.after(0, 1)).toEqual([client]);
      expect(tail.after(tail.lastRowid(), 10)).toEqual([]);
    } finally {
      tail.close();
    }
  });

  it('refuses a store that does not exist', () => {
    expect(() => SpanTail.open(join(dir, 'none.db'))).toThrow(expect.objectContaining({ code: 'FS_ERR_STORE_OPEN' }));
  });
});
