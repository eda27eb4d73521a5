// A load test with known answers, written into real store files: a generator run whose server
// host's clock is 3 s ahead, an endpoint with unmatched roots, background traffic, downstream
// spans, odd data (a root ending before it starts, a server child longer than its parent, a
// retried request with two server children), and Locust-style roots without phases or run id.
// The expected figures are computed here from the same ground truth the spans were built from.
import { join } from 'node:path';
import { analyze } from '../../analyzer/analyze.ts';
import type { Report } from '../../analyzer/report.ts';
import { closeShards, openShards } from '../../model/span-reads.ts';
import { SpanStore } from '../../model/store.ts';
import { SpanKind } from '../../model/otlp.ts';
import { LOCUST_RESOURCE, TraceBuilder, usersMetric, type Phases } from './analyzer-traces.ts';

export const SKEW_MS = 3000;
export const PRODUCT = '/product/{id}';
export const CART = '/cart/add';
export const ODD = '/odd';

export interface ProductPair {
  phases: Phases;
  serverMs: number;
  beforeMs: number;
  afterMs: number;
  gapMs: number;
}

export interface Scenario {
  product: ProductPair[];
  cartRoots: number;
  cartMatched: number;
  cartGaps: number[];
  backgroundDurations: number[];
  /** Roots (and their whole traces) written again in the second shard. */
  duplicatedInShard2: number;
}

/** Nearest-rank percentile, the definition the analyzer uses for exact digests. */
export function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/**
 * Write the scenario into `path` (and, when given, a second shard at `shard2` holding the first
 * `duplicates` product traces again plus nothing else). Returns the ground truth.
 */
export function writeScenario(path: string, shard2?: string, duplicates = 5): Scenario {
  const store = SpanStore.open(path);
  const b = new TraceBuilder(1);
  const product: ProductPair[] = [];
  // Same seed, same call order: the first `duplicates` traces get the same ids in both builders.
  const b2 = new TraceBuilder(1);
  for (let i = 0; i < 40; i++) {
    const serverMs = 10 + (i % 5);
    // The first 8 pairs have symmetric legs (2 ms each way) and the least delay: they fix the
    // offset exactly. The rest wait longer before the server (a queue), so their delay is larger.
    const beforeMs = i < 8 ? 2 : 2 + (i % 7) + 1;
    const afterMs = 2;
    const connect = i % 10 === 0 ? 25 : 0;
    const phases: Phases = { blocked: 0.5, dns: connect ? 1 : 0, connect, tls: 0, sending: 0.25, waiting: beforeMs + serverMs + afterMs, receiving: 1.25 };
    const startMs = 100 + i * 50;
    const build = (tb: TraceBuilder): void => {
      const root = tb.root({ startMs, requestName: PRODUCT, phases });
      const server = tb.server(root, { beforeMs, durationMs: serverMs, offsetMs: SKEW_MS, service: 'shop', name: 'GET /product/:id' });
      // A downstream call from the shop (same host clock as the shop) to inventory.
      const call = tb.span(server, { service: 'shop', name: 'GET inventory', kind: SpanKind.CLIENT, startMs: server.startMs + 1, durationMs: 4 });
      tb.span(call, { service: 'inventory', name: 'GET /stock', kind: SpanKind.SERVER, startMs: server.startMs + 1.5, durationMs: 3 });
    };
    build(b);
    if (shard2 !== undefined && i < duplicates) build(b2);
    product.push({ phases, serverMs, beforeMs, afterMs, gapMs: phases.blocked + phases.dns + phases.connect + phases.sending + beforeMs + afterMs + phases.receiving });
  }
  // /cart/add: 10 roots, the last 4 never reached an instrumented server (no child).
  const cartGaps: number[] = [];
  for (let i = 0; i < 10; i++) {
    const phases: Phases = { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0.5, waiting: 20, receiving: 0.5 };
    const root = b.root({ startMs: 120 + i * 100, method: 'POST', requestName: CART, phases });
    if (i < 6) {
      b.server(root, { beforeMs: 3, durationMs: 14, offsetMs: SKEW_MS, service: 'shop', name: 'POST /cart/add' });
      cartGaps.push(20 + 1 - 14);
    }
  }
  // Odd data on /odd: a root that ends before it starts; a server child longer than its parent;
  // a retried request with two server children (5 ms and 6 ms inside a 30 ms client span).
  b.root({ startMs: 300, requestName: ODD, durationMs: -5 });
  const longer = b.root({ startMs: 310, requestName: ODD, phases: { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0, waiting: 10, receiving: 0 } });
  b.server(longer, { beforeMs: 0, durationMs: 50, offsetMs: SKEW_MS });
  const retried = b.root({ startMs: 320, requestName: ODD, phases: { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0, waiting: 30, receiving: 0 } });
  b.server(retried, { beforeMs: 2, durationMs: 5, offsetMs: SKEW_MS });
  b.server(retried, { beforeMs: 15, durationMs: 6, offsetMs: SKEW_MS });
  // Background traffic in the run's window (on the shop's clock): health checks, no load-test root.
  const backgroundDurations = [1, 2, 3, 4, 5];
  for (const [i, d] of backgroundDurations.entries()) b.background({ startMs: SKEW_MS + 500 + i * 200, durationMs: d });
  // Outside every window: not counted at all.
  b.background({ startMs: SKEW_MS + 600_000, durationMs: 9 });
  const request = b.take();
  store.insertTraces(request);
  // Re-delivery of the whole batch (an exporter retry): the store ignores it, nothing doubles.
  const again = store.insertTraces(request);
  if (again.stored !== 0) throw new Error('store stored a re-delivered batch');
  store.insertMetrics(usersMetric({ points: [0, 1, 2].map((s) => ({ atMs: 100 + s * 1000, users: 5 * (s + 1) })) }));
  store.close();
  if (shard2 !== undefined) {
    const s2 = SpanStore.open(shard2);
    s2.insertTraces(b2.take());
    s2.close();
  }
  return {
    product,
    cartRoots: 10,
    cartMatched: 6,
    cartGaps,
    backgroundDurations,
    duplicatedInShard2: shard2 === undefined ? 0 : duplicates,
  };
}

/** Locust-style data: service `locust`, no run id, old semconv, no phases; two bursts 60 s apart. */
export function writeLocustRuns(path: string): { gapsMs: number[][] } {
  const store = SpanStore.open(path);
  const b = new TraceBuilder(7).resource('locust', LOCUST_RESOURCE);
  const gapsMs: number[][] = [[], []];
  for (const [burst, base] of [0, 70_000].entries()) {
    for (let i = 0; i < 6; i++) {
      const root = b.root({
        service: 'locust',
        runId: null,
        requestName: null,
        name: 'GET /items',
        method: 'GET',
        oldSemconv: true,
        startMs: base + i * 300,
        durationMs: 40 + i,
      });
      b.server(root, { service: 'shop', startMs: base + i * 300 + 10, durationMs: 20, beforeMs: 0 });
      gapsMs[burst]?.push(40 + i - 20);
    }
  }
  store.insertTraces(b.take());
  store.close();
  return { gapsMs };
}

/**
 * The scenario (writeScenario) and the Locust runs (writeLocustRuns), each written to its own
 * file in `dir` and analysed as `firstspan analyze` would (one thread, no top traces): the reports
 * the renderers' tests read back.
 */
export async function analysedScenarios(dir: string): Promise<{ scenario: Report; locust: Report }> {
  const analyseFile = async (db: string): Promise<Report> => {
    const shards = openShards([db]);
    try {
      return await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1 });
    } finally {
      closeShards(shards);
    }
  };
  writeScenario(join(dir, 'scenario.db'));
  writeLocustRuns(join(dir, 'locust.db'));
  return { scenario: await analyseFile(join(dir, 'scenario.db')), locust: await analyseFile(join(dir, 'locust.db')) };
}
