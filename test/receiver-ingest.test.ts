// The receiver's core (receiver/ingest.ts, write-queue.ts, store-writer.ts, responses.ts) driven in
// this thread on real stores: the bytes-in-flight budget, the write queue's limit and pause, decode
// errors against other errors, a commit that fails, shutting down, and the partial-success bodies
// the receiver answers over real HTTP for each signal in both encodings.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowBuffers } from '../model/buffer-pool.ts';
import { transferables } from '../model/span-rows.ts';
import { SpanStore } from '../model/store.ts';
import { decodeMetricsProtobuf, decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';
import { Ingest, type ExportOutcome, type IngestOptions } from '../receiver/ingest.ts';
import { encodeExportResponseJson, encodeExportResponseProtobuf } from '../receiver/responses.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { WriteQueue } from '../receiver/write-queue.ts';
import { JSON_TYPE, oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { decodeWith, encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { metricsOracleRequest } from './helpers/receiver-fixtures.ts';
import { failSpanInserts, holdWriteLock } from './helpers/store-file.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-ingest-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A real Ingest on a :memory: store: its writer commits in this thread (store-writer.ts). */
async function withIngest(options: IngestOptions, body: (ingest: Ingest, store: SpanStore) => Promise<void>, path = ':memory:'): Promise<void> {
  const store = SpanStore.open(path);
  const ingest = new Ingest(store, options);
  try {
    await body(ingest, store);
  } finally {
    ingest.queue.resume();
    await ingest.close();
    store.close();
  }
}

const spans = (n: number): Buffer => tracesProtobuf(Array.from({ length: n }, () => oracleSpan()));
/** One turn of the event loop: the write queue flushes on setImmediate. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A gauge data point whose time SQLite cannot hold (after 2262): rejected, the others stored. */
function metricsWithOneUnstorablePoint(): Record<string, unknown> {
  const request = metricsOracleRequest() as { resourceMetrics: { scopeMetrics: { metrics: Record<string, unknown>[] }[] }[] };
  request.resourceMetrics[0]!.scopeMetrics[0]!.metrics.push({ name: 'far.future', gauge: { dataPoints: [{ timeUnixNano: '18000000000000000000', asInt: '1' }] } });
  return request;
}

describe('the bytes-in-flight budget', () => {
  it('takes any size when idle, then bodies up to exactly the limit; beyond it pushes back until bytes are released', async () => {
    await withIngest({ maxInflightBytes: 1000 }, async (ingest) => {
      expect(ingest.reserve(5000)).toBe(true); // alone: always taken
      ingest.release(5000);
      expect(ingest.reserve(600)).toBe(true);
      expect(ingest.reserve(400)).toBe(true); // 600 + 400 = the limit, not over it
      expect(ingest.counters.pushedBack).toBe(0);
      expect(ingest.reserve(1)).toBe(false);
      expect(ingest.counters.pushedBack).toBe(1);
      ingest.release(400);
      expect(ingest.reserve(400)).toBe(true);
      ingest.release(400);
      ingest.release(600);
      // Everything released: the receiver is idle again and takes a body of the whole budget and more.
      expect(ingest.reserve(1000)).toBe(true);
      expect(ingest.reserve(1)).toBe(false);
      expect(ingest.counters.pushedBack).toBe(2);
      ingest.release(1000);
    });
  });

  it('lets a body alone in flight grow past the limit; one sharing the budget grows up to exactly the limit', async () => {
    await withIngest({ maxInflightBytes: 1000 }, async (ingest) => {
      expect(ingest.reserve(600)).toBe(true);
      expect(ingest.grow(5000, 600)).toBe(true); // nobody else holds any of it
      ingest.release(5600);
      expect(ingest.reserve(500)).toBe(true); // request A
      expect(ingest.reserve(300)).toBe(true); // request B
      expect(ingest.grow(200, 500)).toBe(true); // A: 800 + 200 = the limit
      expect(ingest.counters.pushedBack).toBe(0);
      expect(ingest.grow(1, 300)).toBe(false); // B: the budget is spent
      expect(ingest.counters.pushedBack).toBe(1);
      ingest.release(700); // A is done
      expect(ingest.grow(700, 300)).toBe(true);
      expect(ingest.reserve(1)).toBe(false);
      ingest.release(1000);
    });
  });

  it('over HTTP: 429 while other requests hold the budget, 200 once they release it, and nothing left reserved', async () => {
    const rx = await startReceiver({ db: join(dir, 'budget.db'), port: 0, maxInflightBytes: 4000 });
    try {
      const body = spans(3);
      expect(rx.ingest.reserve(4000 - body.length + 1)).toBe(true); // another request holds nearly all of it
      const refused = await post(rx.url, '/v1/traces', body, PROTO);
      expect(refused.status).toBe(429);
      expect(rx.ingest.counters.pushedBack).toBe(1);
      rx.ingest.release(4000 - body.length + 1);
      expect(rx.ingest.reserve(4000 - body.length)).toBe(true); // now exactly room for the body
      expect((await post(rx.url, '/v1/traces', body, PROTO)).status).toBe(200);
      rx.ingest.release(4000 - body.length);
      // The answered requests gave back what they reserved: the whole budget, and not one byte more.
      expect(rx.ingest.reserve(4000)).toBe(true);
      expect(rx.ingest.reserve(1)).toBe(false);
      rx.ingest.release(4000);
    } finally {
      await rx.close();
    }
  });
});

describe('the write queue', () => {
  it('holds commits while paused: the request stays pending, unanswered, until resume', async () => {
    await withIngest({}, async (ingest) => {
      ingest.queue.pause();
      let outcome: ExportOutcome | undefined;
      const pending = ingest.export('traces', 'protobuf', spans(2)).then((o) => (outcome = o));
      await turn();
      await turn();
      expect(outcome).toBeUndefined();
      expect(ingest.queue.stats()).toEqual({ pendingItems: 2, pendingRequests: 1, commits: 0, committedItems: 0 });
      ingest.queue.resume();
      await pending;
      expect(outcome).toEqual({ kind: 'ok', stored: 2, duplicates: 0, rejected: 0, message: '' });
      expect(ingest.queue.stats()).toEqual({ pendingItems: 0, pendingRequests: 0, commits: 1, committedItems: 2 });
    });
  });

  it('takes requests up to exactly maxPendingItems, then answers busy naming spans or data points', async () => {
    await withIngest({ maxPendingItems: 10 }, async (ingest) => {
      ingest.queue.pause();
      const first = ingest.export('traces', 'protobuf', spans(6));
      const fill = ingest.export('traces', 'protobuf', spans(4)); // 6 + 4 = the limit
      expect(ingest.queue.stats().pendingItems).toBe(10);
      expect(await ingest.export('traces', 'protobuf', spans(1))).toEqual({
        kind: 'busy',
        message: 'the write queue is full (10 spans waiting for commit); retry after 1s',
      });
      const metrics = encodeWith(Oracle.MetricsRequest, metricsOracleRequest());
      expect(await ingest.export('metrics', 'protobuf', metrics)).toEqual({
        kind: 'busy',
        message: 'the write queue is full (10 data points waiting for commit); retry after 1s',
      });
      expect(ingest.counters.pushedBack).toBe(2);
      ingest.queue.resume();
      expect((await first).kind).toBe('ok');
      expect(await fill).toEqual({ kind: 'ok', stored: 4, duplicates: 0, rejected: 0, message: '' });
      expect(ingest.counters.stored).toBe(10);
    });
  });

  it('counts requests handed to the writer thread and not yet committed as pending', async () => {
    const path = join(dir, 'inflight-requests.db');
    await withIngest(
      {},
      async (ingest) => {
        // Another connection holds the write lock: the writer thread waits on it (busy_timeout),
        // so the first request stays in flight, handed over and not committed, until COMMIT here.
        const release = holdWriteLock(path);
        try {
          const first = ingest.export('traces', 'protobuf', spans(2));
          await turn();
          await turn();
          ingest.queue.pause();
          const second = ingest.export('traces', 'protobuf', spans(3));
          expect(ingest.queue.stats()).toEqual({ pendingItems: 5, pendingRequests: 2, commits: 0, committedItems: 0 });
          release();
          expect((await first).kind).toBe('ok');
          expect(ingest.queue.stats()).toEqual({ pendingItems: 3, pendingRequests: 1, commits: 1, committedItems: 2 });
          ingest.queue.resume();
          expect((await second).kind).toBe('ok');
        } finally {
          release();
        }
      },
      path,
    );
  });

  it("hands a committed request's row buffers back to the pool for the next requests (:memory:, in this thread)", async () => {
    // Empty, so the pool has room for what this commit hands back whatever ran before in this process.
    rowBuffers.clear();
    const store = SpanStore.open(':memory:');
    const queue = new WriteQueue(store, 100);
    try {
      const job = WriteQueue.job(decodeTracesProtobuf(spans(3)).request);
      const last = transferables(job.spans!).at(-1)!;
      expect(last.byteLength).toBeGreaterThan(0);
      expect(await queue.submit(job, 3)).toEqual({ stored: 3, duplicates: 0 });
      // The pool hands out the buffer it was given last first.
      expect(rowBuffers.take(last.byteLength)).toBe(last);
      // Metric points carry no row buffers, and commit as well.
      expect(await queue.submit(WriteQueue.job(decodeMetricsProtobuf(encodeWith(Oracle.MetricsRequest, metricsOracleRequest())).request), 5)).toEqual({ stored: 5, duplicates: 0 });
    } finally {
      await queue.close();
      store.close();
    }
  });

  it('waits on close for the queued requests to commit, and refuses new ones meanwhile', async () => {
    const store = SpanStore.open(':memory:');
    const ingest = new Ingest(store);
    ingest.queue.pause();
    const queued = ingest.export('traces', 'protobuf', spans(2));
    let closed = false;
    const closing = ingest.close().then(() => (closed = true));
    await turn();
    await turn();
    expect(closed).toBe(false);
    expect(await ingest.export('traces', 'protobuf', spans(1))).toEqual({ kind: 'unavailable', message: 'the receiver is shutting down; retry later' });
    ingest.queue.resume();
    await closing;
    expect(await queued).toMatchObject({ kind: 'ok', stored: 2 });
    store.close();
  });

  it('answers an empty request at once, without a commit', async () => {
    await withIngest({}, async (ingest) => {
      for (const [signal, body] of [
        ['traces', Buffer.alloc(0)],
        ['metrics', Buffer.alloc(0)],
      ] as const) {
        expect(await ingest.export(signal, 'protobuf', body)).toEqual({ kind: 'ok', stored: 0, duplicates: 0, rejected: 0, message: '' });
      }
      expect(ingest.queue.stats().commits).toBe(0);
    });
  });
});

describe('decode errors and other failures', () => {
  it("names the request's encoding and signal in a decode error, for every signal", async () => {
    await withIngest({}, async (ingest) => {
      const badProtobuf = Buffer.from([0x0a, 0x05, 0x01]); // a field of 5 bytes with 1 left
      for (const signal of ['traces', 'metrics', 'logs'] as const) {
        const p = await ingest.export(signal, 'protobuf', badProtobuf);
        expect(p.kind).toBe('invalid');
        expect('message' in p && p.message).toMatch(new RegExp(`^cannot decode the OTLP protobuf ${signal} request: `));
        const j = await ingest.export(signal, 'json', Buffer.from('{"resource'));
        expect(j.kind).toBe('invalid');
        expect('message' in j && j.message).toMatch(new RegExp(`^cannot decode the OTLP/JSON ${signal} request: `));
      }
      expect(ingest.counters.invalidRequests).toBe(6);
      expect(ingest.counters.requests).toBe(6);
    });
  });

  it('lets an error that is not about the request propagate instead of blaming the client', async () => {
    await withIngest({}, async (ingest) => {
      for (const signal of ['traces', 'logs'] as const) {
        // A fault inside the receiver while reading the body: not the client's doing, so never a 400.
        const body = Buffer.from('{}');
        body.toString = () => {
          throw new TypeError('a fault inside the receiver');
        };
        await expect(ingest.export(signal, 'json', body)).rejects.toThrow('a fault inside the receiver');
      }
      expect(ingest.counters.invalidRequests).toBe(0);
    });
  });

  it('reads a JSON body that starts with a byte order mark', async () => {
    await withIngest({}, async (ingest) => {
      const traces = JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'bom' }] }] }],
      });
      expect(await ingest.export('traces', 'json', Buffer.from(`\uFEFF${traces}`))).toEqual({ kind: 'ok', stored: 1, duplicates: 0, rejected: 0, message: '' });
      const logs = await ingest.export('logs', 'json', Buffer.from('\uFEFF{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}'));
      expect(logs).toMatchObject({ kind: 'ok', rejected: 1 });
    });
  });

  it('answers unavailable, and counts a store failure, when the commit fails; the retry is stored', async () => {
    for (const path of [':memory:', join(dir, 'failing.db')]) {
      await withIngest(
        {},
        async (ingest, store) => {
          const repair = failSpanInserts(store, 'the disk is full');
          const body = spans(2);
          expect(await ingest.export('traces', 'protobuf', body), path).toEqual({
            kind: 'unavailable',
            message: 'could not commit to the database: the disk is full; retry later',
          });
          expect(ingest.counters.storeFailures).toBe(1);
          expect(ingest.counters.stored).toBe(0);
          repair();
          expect(await ingest.export('traces', 'protobuf', body)).toMatchObject({ kind: 'ok', stored: 2 });
          expect(ingest.counters.storeFailures).toBe(1);
        },
        path,
      );
    }
  });

  it('answers unavailable when the writer thread cannot open the database', async () => {
    const path = join(dir, 'vanished.db');
    const store = SpanStore.open(path);
    // The file is replaced by a directory after this connection opened it: the writer thread's own
    // connection fails to open, and the thread dies.
    rmSync(path);
    mkdirSync(path);
    const ingest = new Ingest(store);
    try {
      const outcome = await ingest.export('traces', 'protobuf', spans(1));
      expect(outcome.kind).toBe('unavailable');
      expect('message' in outcome && outcome.message).toMatch(/^could not commit to the database: the database writer thread failed: .*cannot open database/);
      expect(ingest.counters.storeFailures).toBe(1);
    } finally {
      await ingest.close();
      store.close();
    }
  });

  it('refuses new requests once closing, and says so', async () => {
    const store = SpanStore.open(':memory:');
    const ingest = new Ingest(store);
    expect(ingest.isClosing).toBe(false);
    await ingest.close();
    expect(ingest.isClosing).toBe(true);
    expect(await ingest.export('traces', 'protobuf', spans(1))).toEqual({ kind: 'unavailable', message: 'the receiver is shutting down; retry later' });
    expect(ingest.counters.requests).toBe(1);
    store.close();
  });
});

describe('partial success bodies over HTTP', () => {
  let rx: RunningReceiver;

  beforeAll(async () => {
    // :memory: commits in this thread (store-writer.ts), metrics included.
    rx = await startReceiver({ db: ':memory:', port: 0 });
  });

  afterAll(async () => {
    await rx.close();
  });

  const badSpan = (): Record<string, unknown> => oracleSpan({ name: 'short id', traceId: Buffer.alloc(15, 1) });

  it('traces: rejectedSpans and the reason, in protobuf and JSON', async () => {
    const p = await post(rx.url, '/v1/traces', tracesProtobuf([oracleSpan(), badSpan()]), PROTO);
    expect(p.status).toBe(200);
    expect(decodeWith(Oracle.TraceResponse, p.body)).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: "rejected 1 span: span 'short id': trace id must be 16 bytes, got 15" },
    });
    const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab', spanId: 'eee19b7ec3c1b174', name: 'short id' }] }] }] });
    const j = await post(rx.url, '/v1/traces', json, JSON_TYPE);
    expect(j.status).toBe(200);
    expect(JSON.parse(j.body.toString())).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringMatching(/^rejected 1 span: span 'short id': /) as unknown },
    });
  });

  it('metrics: rejectedDataPoints and the reason, in protobuf and JSON; the other points are stored', async () => {
    const request = metricsWithOneUnstorablePoint();
    const before = rx.ingest.counters.stored;
    const p = await post(rx.url, '/v1/metrics', encodeWith(Oracle.MetricsRequest, request), PROTO);
    expect(p.status).toBe(200);
    const message = "rejected 1 data point: data point of 'far.future': time is after the year 2262";
    expect(decodeWith(Oracle.MetricsResponse, p.body)).toEqual({ partialSuccess: { rejectedDataPoints: '1', errorMessage: message } });
    expect(rx.ingest.counters.stored - before).toBe(5);
    const asJson = Oracle.MetricsRequest.fromObject(request).toJSON(); // protobufjs's canonical JSON: 64-bit integers as strings
    const j = await post(rx.url, '/v1/metrics', JSON.stringify(asJson), JSON_TYPE);
    expect(j.status).toBe(200);
    expect(JSON.parse(j.body.toString())).toEqual({ partialSuccess: { rejectedDataPoints: '1', errorMessage: message } });
  });

  it('logs: rejectedLogRecords in JSON', async () => {
    const j = await post(rx.url, '/v1/logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{}]}]}]}', JSON_TYPE);
    expect(j.status).toBe(200);
    expect(JSON.parse(j.body.toString())).toEqual({
      partialSuccess: { rejectedLogRecords: '2', errorMessage: 'firstspan stores traces and metrics only; log records are not stored (2 rejected)' },
    });
  });

  it('a full success is an empty body in protobuf and {} in JSON', async () => {
    const p = await post(rx.url, '/v1/traces', spans(1), PROTO);
    expect(p.status).toBe(200);
    expect(p.body.length).toBe(0);
    const j = await post(rx.url, '/v1/metrics', '{"resourceMetrics":[]}', JSON_TYPE);
    expect(j.body.toString()).toBe('{}');
  });
});

describe('ExportServiceResponse encoding', () => {
  // Field by field as protobufjs encodes the same message: a count of 0 and an empty message are
  // left out (proto3 defaults), and the body is empty only when both are.
  const oracle = (partialSuccess: Record<string, unknown>): Buffer => encodeWith(Oracle.TraceResponse, { partialSuccess });

  it('writes only the fields that are set', () => {
    expect(encodeExportResponseProtobuf(0, '')).toEqual(Buffer.alloc(0));
    expect(encodeExportResponseProtobuf(3, '')).toEqual(oracle({ rejectedSpans: 3 }));
    expect(encodeExportResponseProtobuf(0, 'a warning')).toEqual(oracle({ errorMessage: 'a warning' }));
    expect(encodeExportResponseProtobuf(2, 'why')).toEqual(oracle({ rejectedSpans: 2, errorMessage: 'why' }));
  });

  it('names the rejected count after the signal in JSON, and answers {} when nothing is to say', () => {
    expect(JSON.parse(encodeExportResponseJson('traces', 1, 'm'))).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: 'm' } });
    expect(JSON.parse(encodeExportResponseJson('metrics', 2, 'm'))).toEqual({ partialSuccess: { rejectedDataPoints: '2', errorMessage: 'm' } });
    expect(JSON.parse(encodeExportResponseJson('logs', 3, 'm'))).toEqual({ partialSuccess: { rejectedLogRecords: '3', errorMessage: 'm' } });
    expect(encodeExportResponseJson('traces', 0, '')).toBe('{}');
    expect(JSON.parse(encodeExportResponseJson('traces', 0, 'a warning'))).toEqual({ partialSuccess: { rejectedSpans: '0', errorMessage: 'a warning' } });
  });
});
