// What analyze() builds around the figures, checked span by span on a small store written by hand:
// the slowest traces' waterfalls (depth-first order, each span moved onto the generator's clock by
// its service's offset or its parent's, kinds, errors, phases, server time, spans found in another
// shard), the choice of traces to draw (diverseTop), the failures summed over shards, and the
// background traffic's services and names. In process, so a mutation test sees which test covers what.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, diverseTop } from '../analyzer/analyze.ts';
import type { Report, RunReport, Waterfall } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { SpanKind, StatusCode } from '../model/otlp.ts';
import { TraceBuilder, type Phases, type SpanHandle } from './helpers/analyzer-traces.ts';

const SKEW_MS = 3000;
/** Span ids as the store keeps them: upper-case hex. */
const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex').toUpperCase();

let dir: string;
/** The slow trace's spans, to compare the waterfall with. */
let slow: { root: SpanHandle; server: SpanHandle; retry: SpanHandle; call: SpanHandle; stock: SpanHandle; internal: SpanHandle; orphanParent: SpanHandle; orphan: SpanHandle; odd: SpanHandle; phases: Phases };

/**
 * Shard 1: 30 ordinary /product requests (symmetric legs: the shop's offset is exactly 3 s), two
 * failed /cart requests and one failed /zeta request, background traffic on two services, and one
 * slow /slow trace: a retried server call (two SERVER children), a downstream call to inventory
 * (no offset of its own), an internal span of the generator, a span whose parent never arrived, a
 * span of an unknown kind. Shard 2: the trace's inventory span (only there), a changed copy of its
 * unknown-kind span, two more failed /cart requests and three failed /product ones.
 */
function write(): void {
  const b = new TraceBuilder(3);
  const b2 = new TraceBuilder(3);
  for (let i = 0; i < 30; i++) {
    const phases: Phases = { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0, waiting: 14, receiving: 0 };
    const root = b.root({ startMs: 100 + i * 40, requestName: '/product', phases });
    b.server(root, { beforeMs: 2, durationMs: 10, offsetMs: SKEW_MS });
  }
  for (let i = 0; i < 2; i++) b.root({ startMs: 150 + i * 40, requestName: '/cart', method: 'POST', durationMs: 5, error: true });
  const phases: Phases = { blocked: 1, dns: 2, connect: 3, tls: 4, sending: 0.5, waiting: 400, receiving: 9.5 };
  const root = b.root({ startMs: 500, requestName: '/slow', phases });
  const server = b.server(root, { beforeMs: 20, durationMs: 100, offsetMs: SKEW_MS, name: 'GET /slow' });
  const retry = b.server(root, { beforeMs: 200, durationMs: 150, offsetMs: SKEW_MS, name: 'GET /slow (retry)' });
  const call = b.span(server, { service: 'shop', name: 'GET inventory', kind: SpanKind.CLIENT, startMs: server.startMs + 5, durationMs: 50 });
  const stockSpan = b.span(call, { service: 'inventory', name: 'GET /stock', kind: SpanKind.SERVER, startMs: server.startMs + 7, durationMs: 40 });
  const internal = b.span(root, { service: 'firstspan', name: 'parse response', kind: SpanKind.INTERNAL, startMs: root.endMs - 5, durationMs: 2 });
  // A span whose parent is in no shard: drawn at the top level after the root's tree.
  const orphanParent = { traceId: root.traceId, spanId: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]), service: 'shop', runId: null, startMs: 0, endMs: 0, sentMs: 0 };
  const orphan = b.span(orphanParent, { service: 'shop', name: 'GET /orphan', kind: SpanKind.SERVER, startMs: root.startMs + SKEW_MS + 300, durationMs: 3 });
  const odd = b.span(server, { service: 'shop', name: 'weird', kind: 9, startMs: server.startMs + 60, durationMs: 1 });
  for (const [i, name] of ['GET /health', 'GET /health', 'GET /metrics'].entries()) b.background({ startMs: SKEW_MS + 300 + i * 10, durationMs: 2, name });
  b.background({ service: 'inventory', startMs: 400, durationMs: 3, name: 'GET /alive' });
  b.root({ startMs: 200, requestName: '/zeta', durationMs: 5, error: true });
  const request = b.take();
  // The slow trace's inventory span failed, with a message and an event; it went to the second
  // shard only, and the 'weird' span to both.
  const toShard2: typeof request.resourceSpans = [];
  for (const rs of request.resourceSpans) {
    const spans = rs.scopeSpans[0]?.spans ?? [];
    const stock = spans.find((span) => span.name === 'GET /stock');
    if (stock !== undefined) {
      stock.status = { code: StatusCode.ERROR, message: 'out of stock' };
      stock.events = [{ timeUnixNano: stock.startTimeUnixNano + 1_000_000n, name: 'retry', attributes: { attempt: { intValue: '2' } }, droppedAttributesCount: 0 }];
      rs.scopeSpans[0]!.spans = spans.filter((span) => span !== stock);
      toShard2.push({ ...rs, scopeSpans: [{ ...rs.scopeSpans[0]!, spans: [stock] }] });
    }
    // A copy that differs (a re-export after a change): the root's shard is read first and wins.
    const weird = spans.find((span) => span.name === 'weird');
    if (weird !== undefined) toShard2.push({ ...rs, scopeSpans: [{ ...rs.scopeSpans[0]!, spans: [{ ...weird, name: 'weird (copy)' }] }] });
    // The generator's own span ended OK: not an error.
    const parse = spans.find((span) => span.name === 'parse response');
    if (parse !== undefined) parse.status = { code: StatusCode.OK, message: '' };
  }
  const store = SpanStore.open(join(dir, 'a.db'));
  store.insertTraces(request);
  store.close();
  // Shard 2: those spans, two more failed /cart requests and a failed /product one.
  for (let i = 0; i < 2; i++) b2.root({ startMs: 160 + i * 40, requestName: '/cart', method: 'POST', durationMs: 5, error: true });
  for (let i = 0; i < 3; i++) b2.root({ startMs: 170 + i, requestName: '/product', durationMs: 5, error: true, httpStatus: 503 });
  const store2 = SpanStore.open(join(dir, 'b.db'));
  store2.insertTraces({ resourceSpans: [...toShard2, ...b2.take().resourceSpans] });
  store2.close();
  slow = { root, server, retry, call, stock: stockSpan, internal, orphanParent, orphan, odd, phases };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-waterfall-'));
  write();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function analyzeBoth(topN = 3): Promise<Report> {
  const shards = openShards([join(dir, 'a.db'), join(dir, 'b.db')]);
  try {
    return await analyze(shards, { idleGapNs: 30_000_000_000n, topN, threads: 1, settleMs: 0 });
  } finally {
    closeShards(shards);
  }
}

function onlyRun(r: Report): RunReport {
  expect(r.runs).toHaveLength(1);
  return r.runs[0] as RunReport;
}

function slowWaterfall(run: RunReport): Waterfall {
  const w = run.slowestTraces.find((t) => t.endpoint === '/slow');
  if (w === undefined) throw new Error(`no /slow waterfall among ${run.slowestTraces.map((t) => t.endpoint).join(', ')}`);
  return w;
}

describe('waterfall of a slow trace', () => {
  it('lists the spans depth-first, children by start, on the generator clock with each service offset', async () => {
    const run = onlyRun(await analyzeBoth());
    expect(run.clockOffsets.map((o) => [o.service, o.offsetMs])).toEqual([['shop', SKEW_MS]]);
    const w = slowWaterfall(run);
    const s = slow;
    const rel = (h: SpanHandle): number => h.startMs - s.root.startMs;
    // Siblings in the order they started on the generator's clock: the shop's spans, 3 s ahead
    // on their own clock, come before the generator's own span at 415 ms.
    expect(w.spans.map((x) => [x.name, x.service, x.kind, x.depth, x.offsetMs, x.parentSpanId])).toEqual([
      ['GET /slow', 'firstspan', 'client', 0, 0, null],
      ['GET /slow', 'shop', 'server', 1, SKEW_MS, hex(s.root.spanId)],
      ['GET inventory', 'shop', 'client', 2, SKEW_MS, hex(s.server.spanId)],
      // inventory has no offset estimate: it takes its parent's.
      ['GET /stock', 'inventory', 'server', 3, SKEW_MS, hex(s.call.spanId)],
      ['weird', 'shop', 'unspecified', 2, SKEW_MS, hex(s.server.spanId)],
      ['GET /slow (retry)', 'shop', 'server', 1, SKEW_MS, hex(s.root.spanId)],
      ['parse response', 'firstspan', 'internal', 1, 0, hex(s.root.spanId)],
      ['GET /orphan', 'shop', 'server', 0, SKEW_MS, hex(s.orphanParent.spanId)],
    ]);
    const byName = new Map(w.spans.map((x) => [x.name, x]));
    expect(w.spans[0]?.startMs).toBe(0);
    expect(byName.get('GET /slow (retry)')?.startMs).toBeCloseTo(rel(s.retry) - SKEW_MS, 6);
    expect(byName.get('GET /stock')?.startMs).toBeCloseTo(rel(s.stock) - SKEW_MS, 6);
    expect(byName.get('parse response')?.startMs).toBeCloseTo(rel(s.internal), 6);
    expect(byName.get('GET inventory')?.durationMs).toBeCloseTo(50, 6);
    expect(w.spans.map((x) => x.spanId)).toEqual(
      [s.root, s.server, s.call, s.stock, s.odd, s.retry, s.internal, s.orphan].map((h) => hex(h.spanId)),
    );
  });

  it('carries the errors, status messages and events of its spans', async () => {
    const w = slowWaterfall(onlyRun(await analyzeBoth()));
    const stock = w.spans.find((x) => x.name === 'GET /stock');
    expect(w.spans.filter((x) => x.error).map((x) => x.name)).toEqual(['GET /stock']);
    expect(stock?.statusMessage).toBe('out of stock');
    // An event's time is after its own span's start.
    expect(stock?.events).toEqual([{ name: 'retry', atMs: 1, attributes: { attempt: '2' } }]);
    expect(stock?.attributes).toEqual({ 'http.request.method': 'GET' });
  });

  it('has the root phases end to end, the server time of its direct SERVER children, and its gap', async () => {
    const w = slowWaterfall(onlyRun(await analyzeBoth()));
    const p = slow.phases;
    const names = Object.keys(p) as Array<keyof Phases>;
    let at = 0;
    const expected = names.map((name) => {
      const seg = { name, startMs: at, durationMs: p[name] };
      at += p[name];
      return seg;
    });
    expect(w.phases).toEqual(expected);
    expect(w.rootName).toBe('GET /slow');
    expect(w.traceId).toBe(Buffer.from(slow.root.traceId).toString('hex'));
    expect(w.clientMs).toBeCloseTo(420, 6);
    expect(w.serverMs).toBeCloseTo(100 + 150, 6);
    expect(w.gapMs).toBeCloseTo(420 - 250, 6);
  });

  it('draws the traces of ordinary requests without phases too, and none with topN 0', async () => {
    const run = onlyRun(await analyzeBoth(40));
    expect(run.slowestTraces.length).toBeGreaterThan(1);
    expect(run.slowestTraces[0]?.endpoint).toBe('/slow');
    const product = run.slowestTraces.find((t) => t.endpoint === '/product');
    expect(product?.spans.map((x) => x.kind)).toEqual(['client', 'server']);
    expect(product?.gapMs).toBeCloseTo(4, 6);
    expect(onlyRun(await analyzeBoth(0)).slowestTraces).toEqual([]);
  });
});

describe('failures and background', () => {
  it('sums the failures of every shard by endpoint and message, most frequent first', async () => {
    const run = onlyRun(await analyzeBoth());
    expect(run.failures).toEqual([
      { endpoint: '/cart', message: 'HTTP 500', count: 4 },
      { endpoint: '/product', message: 'HTTP 503', count: 3 },
      { endpoint: '/zeta', message: 'HTTP 500', count: 1 },
    ]);
  });

  it('counts the background server spans per service and by name, the busiest first', async () => {
    const run = onlyRun(await analyzeBoth());
    expect(run.background.count).toBe(4);
    expect(run.background.services).toEqual([
      { service: 'shop', count: 3 },
      { service: 'inventory', count: 1 },
    ]);
    expect(run.background.topNames).toEqual([
      { name: 'GET /health', count: 2 },
      { name: 'GET /alive', count: 1 },
      { name: 'GET /metrics', count: 1 },
    ]);
  });
});

describe('the traces to draw', () => {
  const c = (endpoint: string, gapNs: number) => ({ endpoint, gapNs });

  it('fill half the slots with the largest gaps, then take each endpoint worst in turns', () => {
    const candidates = [c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/a', 60), c('/b', 10), c('/b', 9), c('/c', 5)];
    // 4 slots: /a 100 and 90 by gap; then /a 80, /b 10 in one round.
    expect(diverseTop(candidates, 4)).toEqual([c('/a', 100), c('/a', 90), c('/a', 80), c('/b', 10)]);
    // 5 slots: 3 by gap (rounded up), then /a 70, /b 10.
    expect(diverseTop(candidates, 5)).toEqual([c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/b', 10)]);
    // 6: a full round of /a 70, /b 10, /c 5.
    expect(diverseTop(candidates, 6)).toEqual([c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/b', 10), c('/c', 5)]);
    // A second round's pick can be larger than the first round's: the result is by gap all the same.
    const two = [c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/a', 60), c('/a', 50), c('/b', 10), c('/b', 9)];
    expect(diverseTop(two, 6)).toEqual([c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/a', 60), c('/b', 10)]);
    expect(diverseTop(candidates, 20)).toEqual([...candidates].sort((x, y) => y.gapNs - x.gapNs));
    expect(diverseTop(candidates, 0)).toEqual([]);
    expect(diverseTop([], 3)).toEqual([]);
  });

  it('do not depend on the order the candidates come in', () => {
    const candidates = [c('/b', 10), c('/a', 60), c('/c', 5), c('/a', 100), c('/b', 9), c('/a', 80), c('/a', 90), c('/a', 70)];
    expect(diverseTop(candidates, 6)).toEqual([c('/a', 100), c('/a', 90), c('/a', 80), c('/a', 70), c('/b', 10), c('/c', 5)]);
  });
});
