// Every OTLP/HTTP answer the receiver gives, over real HTTP: success, empty requests, partial
// success, duplicates, and each failure with its status code and google.rpc.Status body in the
// request's encoding (opentelemetry-proto docs/specification.md, "OTLP/HTTP Response").
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { JSON_TYPE, oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { decodeWith, encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { IDS, richExpected, richJsonRequest, richOracleRequest } from './helpers/receiver-fixtures.ts';
import { readStoredSpans, spanCount as storedSpanCount, spanRowById } from './helpers/stored-spans.ts';

const LIMIT = 256 * 1024;
let dir: string;
let receiver: RunningReceiver;
let secured: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-http-'));
  receiver = await startReceiver({ db: join(dir, 'a.db'), port: 0, maxBodyBytes: LIMIT });
  secured = await startReceiver({ db: join(dir, 'b.db'), port: 0, token: 's3cret' });
});

afterAll(async () => {
  await receiver.close();
  await secured.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The google.rpc.Status of a failure, in either encoding, with its ErrorInfo reason. */
function statusOf(res: { headers: Record<string, unknown>; body: Buffer }): { code?: number; message?: string; reason?: string } {
  const type = String(res.headers['content-type']);
  if (type.startsWith('application/json')) {
    const s = JSON.parse(res.body.toString()) as { code?: number; message?: string; details?: { '@type': string; reason: string }[] };
    expect(s.details?.[0]?.['@type']).toBe('type.googleapis.com/google.rpc.ErrorInfo');
    return { ...s, reason: s.details?.[0]?.reason };
  }
  const s = Oracle.Status.toObject(Oracle.Status.decode(res.body)) as { code?: number; message?: string; details?: { typeUrl: string; value: Uint8Array }[] };
  const detail = s.details?.[0];
  expect(detail?.typeUrl).toBe('type.googleapis.com/google.rpc.ErrorInfo');
  const info = decodeWith(Oracle.ErrorInfo, detail!.value) as { reason: string; domain: string };
  expect(info.domain).toBe('firstspan');
  return { code: s.code, message: s.message, reason: info.reason };
}

const spanCount = (): number => storedSpanCount(join(dir, 'a.db'));

describe('OTLP/HTTP success', () => {
  it('stores a protobuf request and answers an empty protobuf response', async () => {
    const before = spanCount();
    const res = await post(receiver.url, '/v1/traces', tracesProtobuf([oracleSpan(), oracleSpan()]), PROTO);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeWith(Oracle.TraceResponse, res.body)).toEqual({}); // partial_success unset
    expect(spanCount()).toBe(before + 2);
  });

  it('answers an empty request (protobuf and JSON) with success', async () => {
    const p = await post(receiver.url, '/v1/traces', Buffer.alloc(0), PROTO);
    expect(p.status).toBe(200);
    const j = await post(receiver.url, '/v1/traces', '{}', { 'content-type': 'application/json; charset=utf-8' });
    expect(j.status).toBe(200);
    expect(j.headers['content-type']).toBe('application/json');
    expect(JSON.parse(j.body.toString())).toEqual({});
    const blank = await post(receiver.url, '/v1/metrics', '', JSON_TYPE);
    expect(blank.status).toBe(200);
  });

  it('decodes gzip, zlib deflate and raw deflate bodies', async () => {
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['deflate', deflateRawSync],
    ] as const) {
      const span = oracleSpan();
      const res = await post(receiver.url, '/v1/traces', compress(tracesProtobuf([span])), {
        ...PROTO,
        'content-encoding': encoding,
      });
      expect(res.status, encoding).toBe(200);
      const stored = readStoredSpans(join(dir, 'a.db')).find((r) => r.span_id.equals(span.spanId as Buffer));
      expect(stored?.name).toBe(span.name);
    }
  });

  it('stores every AnyValue kind, events, links, status, flags and dropped counts (protobuf and JSON)', async () => {
    // The same span twice, so each format goes to a receiver of its own: one receiver would
    // count the second delivery as a duplicate of the first.
    for (const [format, body, headers] of [
      ['protobuf', encodeWith(Oracle.TraceRequest, richOracleRequest()), PROTO],
      ['json', richJsonRequest(), JSON_TYPE],
    ] as const) {
      const rx = await startReceiver({ db: join(dir, `rich-${format}.db`), port: 0 });
      const res = await post(rx.url, '/v1/traces', body, headers).finally(() => rx.close());
      expect(res.status).toBe(200);
      const row = spanRowById(join(dir, `rich-${format}.db`), Buffer.from(IDS.span, 'hex'));
      if (row === undefined) throw new Error(`the ${format} span was not stored`);
      const span = richExpected().resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      expect(row.end_ns).toBe(span.endTimeUnixNano);
      expect(row.start_ns).toBe(span.startTimeUnixNano);
      expect((row.parent_span_id as Buffer).toString('hex')).toBe(IDS.parent);
      expect(JSON.parse(row.attributes as string)).toEqual(span.attributes);
      expect(JSON.parse(row.events as string)).toEqual([
        { timeUnixNano: '1764000000123456790', name: 'e1', attributes: { ev: { stringValue: 'yes' } }, droppedAttributesCount: 1 },
      ]);
      expect(JSON.parse(row.links as string)).toEqual([
        { traceId: IDS.linkTrace, spanId: IDS.linkSpan, traceState: 'a=b', attributes: { ln: { intValue: '7' } }, droppedAttributesCount: 4, flags: 0x101 },
      ]);
      expect(row).toMatchObject({
        status_code: 2n,
        status_message: 'boom',
        flags: 0x301n,
        kind: 3n,
        trace_state: 'k=v',
        dropped_attributes_count: 3n,
        dropped_events_count: 2n,
        dropped_links_count: 5n,
        scope_name: 'lib',
        scope_version: '9.9',
        scope_schema_url: 'https://example.test/scope',
        service_name: 'rich',
      });
    }
  });

  it('stores a span sent twice only once', async () => {
    const body = tracesProtobuf([oracleSpan()]);
    const before = spanCount();
    expect((await post(receiver.url, '/v1/traces', body, PROTO)).status).toBe(200);
    expect((await post(receiver.url, '/v1/traces', body, PROTO)).status).toBe(200);
    expect(spanCount()).toBe(before + 1);
  });

  it('rejects individually invalid spans through partial success and stores the rest (protobuf)', async () => {
    const good = oracleSpan();
    const body = tracesProtobuf([
      oracleSpan({ traceId: randomBytes(15) }),
      good,
      oracleSpan({ spanId: Buffer.alloc(8) }),
      oracleSpan({ parentSpanId: randomBytes(3) }),
    ]);
    const before = spanCount();
    const res = await post(receiver.url, '/v1/traces', body, PROTO);
    expect(res.status).toBe(200);
    const decoded = decodeWith(Oracle.TraceResponse, res.body) as {
      partialSuccess?: { rejectedSpans?: string; errorMessage?: string };
    };
    expect(decoded.partialSuccess?.rejectedSpans).toBe('3');
    expect(decoded.partialSuccess?.errorMessage).toMatch(/trace id must be 16 bytes, got 15/);
    expect(spanCount()).toBe(before + 1);
  });

  it('rejects individually invalid spans through partial success (JSON)', async () => {
    const goodId = randomBytes(8).toString('hex');
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-partial' } }] },
          scopeSpans: [
            {
              spans: [
                { traceId: 'zz'.repeat(16), spanId: randomBytes(8).toString('hex'), name: 'bad hex' },
                { traceId: randomBytes(16).toString('hex').toUpperCase(), spanId: goodId, name: 'good', kind: 'SPAN_KIND_SERVER' },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(receiver.url, '/v1/traces', JSON.stringify(request), JSON_TYPE);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/bad hex.*not hex/);
    const stored = readStoredSpans(join(dir, 'a.db')).filter((r) => r.service_name === 'json-partial');
    expect(stored.map((r) => [r.name, r.kind, r.span_id.toString('hex')])).toEqual([['good', 2, goodId]]);
  });
});

describe('OTLP/HTTP failures', () => {
  it('400 with a protobuf Status for an undecodable protobuf body', async () => {
    const valid = tracesProtobuf([oracleSpan()]);
    const res = await post(receiver.url, '/v1/traces', valid.subarray(0, valid.length - 5), PROTO);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const status = statusOf(res);
    expect(status.code).toBe(3); // INVALID_ARGUMENT
    expect(status.message).toMatch(/cannot decode the OTLP protobuf traces request/);
    expect(status.reason).toBe('FS_ERR_OTLP_DECODE');
  });

  it('400 with a JSON Status for malformed JSON and for wrongly typed fields', async () => {
    for (const body of ['{"resourceSpans": [', '{"resourceSpans": {"x": 1}}', '[1,2]', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"12x"}]}]}]}']) {
      const res = await post(receiver.url, '/v1/traces', body, JSON_TYPE);
      expect(res.status, body).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(statusOf(res).message).toMatch(/OTLP\/JSON/);
    }
  });

  it('400 for a body that is not valid gzip', async () => {
    const res = await post(receiver.url, '/v1/traces', Buffer.from('not gzip at all'), { ...PROTO, 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
    expect(statusOf(res).message).toMatch(/cannot decompress gzip/);
  });

  it('413 for a body over the limit, declared or not', async () => {
    const big = tracesProtobuf(Array.from({ length: 1200 }, () => oracleSpan({ name: 'x'.repeat(200) })));
    expect(big.length).toBeGreaterThan(LIMIT);
    const declared = await post(receiver.url, '/v1/traces', big, PROTO);
    expect(declared.status).toBe(413);
    expect(statusOf(declared).message).toMatch(/larger than the limit of 262144 bytes/);
    expect(statusOf(declared).reason).toBe('FS_ERR_OTLP_TOO_LARGE');
    // Chunked, no Content-Length: the limit is found while reading.
    const chunked = await post(receiver.url, '/v1/traces', Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]), PROTO);
    expect(chunked.status).toBe(413);
    expect(statusOf(chunked).message).toMatch(/larger than the limit of 262144 bytes/);
  });

  it('413 for a gzip bomb: small on the wire, over the limit once decompressed', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post(receiver.url, '/v1/traces', bomb, { ...PROTO, 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    // The receiver is still fine afterwards.
    expect((await post(receiver.url, '/v1/traces', tracesProtobuf([oracleSpan()]), PROTO)).status).toBe(200);
  });

  it('415 for an unknown Content-Type or Content-Encoding', async () => {
    const body = tracesProtobuf([oracleSpan()]);
    const cases: Record<string, string>[] = [{ 'content-type': 'text/plain' }, { 'content-type': 'application/grpc' }, {}];
    for (const headers of cases) {
      const res = await post(receiver.url, '/v1/traces', body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(statusOf(res).message).toMatch(/unsupported Content-Type/);
      expect(statusOf(res).reason).toBe('FS_ERR_OTLP_MEDIA_TYPE');
    }
    const br = await post(receiver.url, '/v1/traces', body, { ...PROTO, 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect(statusOf(br).message).toMatch(/unsupported Content-Encoding 'br'/);
  });

  it('405 for other methods, with Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await post(receiver.url, '/v1/traces', '', JSON_TYPE, method);
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(statusOf(res).reason).toBe('FS_ERR_OTLP_METHOD');
    }
  });

  it('404 for unknown paths, with a Status naming the real ones', async () => {
    for (const path of ['/v1/profiles', '/', '/v1/traces/extra']) {
      const res = await post(receiver.url, path, '{}', JSON_TYPE);
      expect(res.status, path).toBe(404);
      expect(statusOf(res).message).toMatch(/\/v1\/traces and \/v1\/metrics/);
      expect(statusOf(res).reason).toBe('FS_ERR_OTLP_NOT_FOUND');
    }
  });

  it('401 without the bearer token or with a wrong one; 200 with it', async () => {
    const body = tracesProtobuf([oracleSpan()]);
    const none = await post(secured.url, '/v1/traces', body, PROTO);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(statusOf(none).code).toBe(16);
    expect(statusOf(none).reason).toBe('FS_ERR_OTLP_UNAUTHENTICATED');
    expect((await post(secured.url, '/v1/traces', body, { ...PROTO, authorization: 'Bearer wrong!' })).status).toBe(401);
    expect((await post(secured.url, '/v1/traces', body, { ...PROTO, authorization: 'Bearer s3cret' })).status).toBe(200);
  });
});

describe('push-back under pressure', () => {
  it('429 with Retry-After when the write queue is full, and nothing acknowledged is lost', async () => {
    const rx = await startReceiver({ db: join(dir, 'pressure.db'), port: 0, maxPendingItems: 10 });
    try {
      // A writer slower than the network: commits are held, so queued spans pile up.
      rx.ingest.queue.pause();
      const first = post(rx.url, '/v1/traces', tracesProtobuf(Array.from({ length: 6 }, () => oracleSpan())), PROTO);
      while (rx.ingest.queue.stats().pendingItems < 6) await new Promise((r) => setTimeout(r, 5));
      const second = await post(rx.url, '/v1/traces', tracesProtobuf(Array.from({ length: 6 }, () => oracleSpan())), PROTO);
      expect(second.status).toBe(429);
      expect(second.headers['retry-after']).toBe('1');
      expect(statusOf(second).message).toMatch(/write queue is full/);
      expect(statusOf(second).reason).toBe('FS_ERR_OTLP_BUSY');
      // The same status the gRPC listener answers busy with (model/errors.ts): UNAVAILABLE.
      expect(statusOf(second).code).toBe(14);
      rx.ingest.queue.resume();
      expect((await first).status).toBe(200);
      expect(storedSpanCount(rx.store.path)).toBe(6);
    } finally {
      rx.ingest.queue.resume();
      await rx.close();
    }
  });

  it('429 when a chunked body outgrows the bytes-in-flight budget while it arrives', async () => {
    const rx = await startReceiver({ db: join(dir, 'chunked.db'), port: 0, maxInflightBytes: 30_000 });
    try {
      rx.ingest.queue.pause();
      const held = tracesProtobuf(Array.from({ length: 150 }, () => oracleSpan()));
      expect(held.length).toBeLessThan(30_000);
      const first = post(rx.url, '/v1/traces', held, PROTO);
      while (rx.ingest.queue.stats().pendingRequests < 1) await new Promise((r) => setTimeout(r, 5));
      // No Content-Length: nothing to reserve up front, so the budget is checked as bytes arrive.
      const big = tracesProtobuf(Array.from({ length: 500 }, () => oracleSpan()));
      const chunks = Array.from({ length: Math.ceil(big.length / 16_384) }, (_, i) => big.subarray(i * 16_384, (i + 1) * 16_384));
      const second = await post(rx.url, '/v1/traces', Readable.from(chunks), PROTO);
      expect(second.status).toBe(429);
      expect(second.headers['retry-after']).toBe('1');
      expect(statusOf(second).reason).toBe('FS_ERR_OTLP_BUSY');
      rx.ingest.queue.resume();
      expect((await first).status).toBe(200);
      // With the budget free again, the same chunked body is taken.
      expect((await post(rx.url, '/v1/traces', Readable.from(chunks), PROTO)).status).toBe(200);
    } finally {
      rx.ingest.queue.resume();
      await rx.close();
    }
  });

  it('429 with Retry-After when too many request bytes are in flight', async () => {
    const rx = await startReceiver({ db: join(dir, 'inflight.db'), port: 0, maxInflightBytes: 1000 });
    try {
      rx.ingest.queue.pause();
      const body = tracesProtobuf(Array.from({ length: 20 }, () => oracleSpan()));
      expect(body.length).toBeGreaterThan(1000);
      const first = post(rx.url, '/v1/traces', body, PROTO);
      while (rx.ingest.queue.stats().pendingRequests < 1) await new Promise((r) => setTimeout(r, 5));
      const second = await post(rx.url, '/v1/traces', body, PROTO);
      expect(second.status).toBe(429);
      expect(second.headers['retry-after']).toBe('1');
      expect(statusOf(second).reason).toBe('FS_ERR_OTLP_BUSY');
      rx.ingest.queue.resume();
      expect((await first).status).toBe(200);
    } finally {
      rx.ingest.queue.resume();
      await rx.close();
    }
  });
});
