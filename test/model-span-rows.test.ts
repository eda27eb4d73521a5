// Decoded spans into the store's rows (model/span-rows.ts), read back from the file: which columns
// are NULL (no events, links, scope attributes, phases or reuse flag), the fallbacks (old semantic
// convention names, a resource without service.name), and link ids written as hex.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attributes, Span, TracesRequest } from '../model/otlp.ts';
import { SpanStore } from '../model/store.ts';
import { readStoredSpans } from './helpers/stored-spans.ts';

type Row = Record<string, unknown>;
let dir: string;
let rows: Map<string, Row>;

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
function span(name: string, fill: number, attributes: Attributes, more: Partial<Span> = {}): Span {
  return {
    traceId: bytes(16, fill), spanId: bytes(8, fill), parentSpanId: new Uint8Array(0), traceState: '', name, kind: 3,
    startTimeUnixNano: 1_000_000_000n * BigInt(fill), endTimeUnixNano: 1_000_000_000n * BigInt(fill) + 5_000_000n,
    attributes, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: 0, message: '' }, flags: 0, ...more,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-span-rows-'));
  const request: TracesRequest = {
    resourceSpans: [
      {
        resource: { attributes: { 'service.name': { stringValue: 'shop' } }, droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: 'plain', version: '1', attributes: {}, droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              span('bare', 1, {}),
              span('old-semconv', 2, { 'http.method': { stringValue: 'PUT' }, 'http.status_code': { intValue: '201' } }),
              span('new-semconv', 3, {
                'http.request.method': { stringValue: 'GET' }, 'http.method': { stringValue: 'OLD' },
                'http.response.status_code': { intValue: '204' }, 'firstspan.connection.reused': { boolValue: false },
              }),
              span('reused', 4, { 'firstspan.connection.reused': { boolValue: true } }),
              span('linked', 5, {}, {
                parentSpanId: bytes(8, 0x0c),
                events: [{ timeUnixNano: 5_000_000_001n, name: 'retry', attributes: {}, droppedAttributesCount: 0 }],
                links: [{ traceId: bytes(16, 0xab), spanId: bytes(8, 0xcd), traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }],
              }),
            ],
          },
          { scope: { name: 'tagged', version: '', attributes: { team: { stringValue: 'web' } }, droppedAttributesCount: 0 }, schemaUrl: '', spans: [span('scoped', 6, {})] },
        ],
      },
      { resource: { attributes: { region: { stringValue: 'eu' } }, droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: 'x', version: '', attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '', spans: [span('nameless', 7, {})] }] },
    ],
  };
  const store = SpanStore.open(join(dir, 'a.db'));
  try {
    store.insertTraces(request);
  } finally {
    store.close();
  }
  rows = new Map(readStoredSpans(join(dir, 'a.db')).map((r) => [r.name, r as unknown as Row]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('span rows', () => {
  it('store NULL for what a span does not carry', () => {
    const bare = rows.get('bare')!;
    for (const column of ['events', 'links', 'scope_attributes', 'parent_span_id', 'http_method', 'http_status', 'request_name', 'phase_waiting_ms', 'connection_reused']) {
      expect(bare[column], column).toBeNull();
    }
  });

  it('read the method and status under the current names first, then the old ones', () => {
    expect(rows.get('old-semconv')).toMatchObject({ http_method: 'PUT', http_status: 201n });
    expect(rows.get('new-semconv')).toMatchObject({ http_method: 'GET', http_status: 204n });
  });

  it('keep whether a connection was reused, unknown apart from no', () => {
    expect(rows.get('new-semconv')!.connection_reused).toBe(0n);
    expect(rows.get('reused')!.connection_reused).toBe(1n);
    expect(rows.get('bare')!.connection_reused).toBeNull();
  });

  it('write events, links (ids as hex) and scope attributes as JSON, and the parent id', () => {
    const linked = rows.get('linked')!;
    expect(JSON.parse(linked.events as string)).toEqual([{ timeUnixNano: '5000000001', name: 'retry', attributes: {}, droppedAttributesCount: 0 }]);
    expect(JSON.parse(linked.links as string)).toEqual([{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }]);
    expect(Buffer.from(linked.parent_span_id as Uint8Array).toString('hex')).toBe('0c'.repeat(8));
    expect(JSON.parse(rows.get('scoped')!.scope_attributes as string)).toEqual({ team: { stringValue: 'web' } });
  });

  it("name a resource without service.name as OpenTelemetry does: unknown_service", () => {
    expect(rows.get('nameless')!.service_name).toBe('unknown_service');
    expect(rows.get('bare')!.service_name).toBe('shop');
  });
});
