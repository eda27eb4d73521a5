// Pairing: each load-test root with its SERVER children, and everything measured from the pairs
// in one pass — per-endpoint counts and digests, the gap breakdown sums, the clock-offset samples,
// the per-second timeline and the traces with the largest gaps.
//
// Input is the pair rows of model/span-reads.ts (one row per root and child, a root's rows adjacent).
// Roots cut off by the end of the run (cut-off.ts, given per shard) are counted and nothing else.
// Odd data is counted, never turned into negative or absurd numbers:
//  - a root ending before it starts, or lasting longer than a day: counted, kept out of the figures;
//  - a server child ending before it starts: ignored as a child, counted;
//  - server time longer than the client span (an async child, or a host clock running at another
//    rate): client and server figures kept, no gap, counted;
//  - a server span lying outside its client span on raw timestamps: the symptom of a clock offset,
//    counted, and corrected by the offset estimate (clock-offset.ts) in the breakdown;
//  - several server children (retries, redirects): server time is their sum, counted per endpoint.
import { OffsetEstimator } from './clock-offset.ts';
import { DiagnosisAccumulator } from './diagnosis-data.ts';
import { BreakdownAccumulator } from './gap-breakdown.ts';
import { TailBreakdown } from './tail-breakdown.ts';
import { P, type PairRow } from '../model/span-reads.ts';
import { Digest } from './stats.ts';
import { EndpointTimeline, TimelineAccumulator } from './timeline.ts';

/** A client span longer than this is not a request duration but broken data. */
export const MAX_PLAUSIBLE_NS = 24 * 3600 * 1e9;
/** Distinct endpoint names kept per run; more are folded into OTHER_ENDPOINT (cardinality guard). */
export const MAX_ENDPOINTS = 500;
export const OTHER_ENDPOINT = '(other endpoints)';

export class EndpointAccumulator {
  count = 0;
  matched = 0;
  errors = 0;
  multipleChildren = 0;
  extraChildren = 0;
  newConnections = 0;
  /** Roots that say whether they opened their connection (firstspan's do; Locust's do not). */
  connectionKnown = 0;
  /** Roots cut off by the end of the run (cut-off.ts): counted here only, in no other figure. */
  cutOff = 0;
  readonly client = new Digest();
  readonly server = new Digest();
  readonly gap = new Digest();
  /** The gap of the requests that opened a connection, and of those that reused one. */
  readonly gapOpened = new Digest();
  readonly gapReused = new Digest();
  readonly breakdown = new BreakdownAccumulator();
  /** Client durations per second, for the report's per-endpoint percentiles over time. */
  readonly overTime = new EndpointTimeline();
  /** The breakdown by gap, for the parts of the slowest 10% and 1%. */
  readonly tail = new TailBreakdown();
  constructor(readonly name: string) {}

  /** Give a structured-cloned accumulator (from a worker thread) its methods back. */
  static revive(data: EndpointAccumulator): EndpointAccumulator {
    Object.setPrototypeOf(data, EndpointAccumulator.prototype);
    Digest.revive(data.client);
    Digest.revive(data.server);
    Digest.revive(data.gap);
    Digest.revive(data.gapOpened);
    Digest.revive(data.gapReused);
    Object.setPrototypeOf(data.breakdown, BreakdownAccumulator.prototype);
    EndpointTimeline.revive(data.overTime);
    TailBreakdown.revive(data.tail);
    return data;
  }

  merge(o: EndpointAccumulator): void {
    this.count += o.count;
    this.matched += o.matched;
    this.errors += o.errors;
    this.multipleChildren += o.multipleChildren;
    this.extraChildren += o.extraChildren;
    this.newConnections += o.newConnections;
    this.connectionKnown += o.connectionKnown;
    this.cutOff += o.cutOff;
    this.client.merge(o.client);
    this.server.merge(o.server);
    this.gap.merge(o.gap);
    this.gapOpened.merge(o.gapOpened);
    this.gapReused.merge(o.gapReused);
    this.breakdown.merge(o.breakdown);
    this.overTime.merge(o.overTime);
    this.tail.merge(o.tail);
  }
}

export interface Oddities {
  clientEndBeforeStart: number;
  implausibleDuration: number;
  serverEndBeforeStart: number;
  serverLongerThanClient: number;
  serverOutsideClientSpan: number;
  duplicateRootSpans: number;
  endpointsFolded: number;
}

export interface GapCandidate {
  gapNs: number;
  shard: number;
  rowid: number;
  endpoint: string;
}

export interface RunSnapshot {
  endpoints: EndpointAccumulator[];
  offsets: OffsetEstimator[];
  timeline: TimelineAccumulator;
  odd: Oddities;
  rootSpans: number;
  top: GapCandidate[];
  /** Findings and comparison data (diagnosis-data.ts). */
  diag: DiagnosisAccumulator;
}

export class RunAccumulator {
  readonly endpoints = new Map<string, EndpointAccumulator>();
  readonly offsets = new Map<string, OffsetEstimator>();
  readonly timeline = new TimelineAccumulator();
  /** Per-second and per-endpoint data for the findings and the baseline comparison. */
  readonly diag = new DiagnosisAccumulator();
  readonly odd: Oddities = {
    clientEndBeforeStart: 0,
    implausibleDuration: 0,
    serverEndBeforeStart: 0,
    serverLongerThanClient: 0,
    serverOutsideClientSpan: 0,
    duplicateRootSpans: 0,
    endpointsFolded: 0,
  };
  rootSpans = 0;
  /** Per endpoint, a min-heap of its largest gaps (for the waterfalls): the report shows the
   *  worst traces of several endpoints, not ten of the slowest one. */
  readonly #tops = new Map<string, GapCandidate[]>();

  /** Every endpoint's largest gaps (up to topN each). */
  get top(): GapCandidate[] {
    return [...this.#tops.values()].flat();
  }

  constructor(readonly topN = 10) {}

  /** The mergeable state, as plain data a worker thread can post (see absorb). */
  snapshot(): RunSnapshot {
    return {
      endpoints: [...this.endpoints.values()],
      offsets: [...this.offsets.values()],
      timeline: this.timeline,
      odd: this.odd,
      rootSpans: this.rootSpans,
      top: this.top,
      diag: this.diag,
    };
  }

  /** Merge another accumulator's snapshot (from a worker thread: structured-cloned) into this one. */
  absorb(s: RunSnapshot): void {
    for (const data of s.endpoints) {
      const ep = EndpointAccumulator.revive(data);
      const mine = this.endpoints.get(ep.name);
      if (mine === undefined) this.endpoints.set(ep.name, ep);
      else mine.merge(ep);
    }
    for (const data of s.offsets) {
      const est = OffsetEstimator.revive(data);
      const mine = this.offsets.get(est.service);
      if (mine === undefined) this.offsets.set(est.service, est);
      else mine.merge(est);
    }
    this.timeline.merge(TimelineAccumulator.revive(s.timeline));
    for (const k of Object.keys(this.odd) as Array<keyof Oddities>) this.odd[k] += s.odd[k];
    this.rootSpans += s.rootSpans;
    for (const c of s.top) this.keepTop(c.gapNs, c.shard, c.rowid, c.endpoint);
    this.diag.merge(DiagnosisAccumulator.revive(s.diag));
  }

  // State of the root whose rows are being read (a root's rows are adjacent).
  private current: PairRow | null = null;
  private children = 0;
  private badChildren = 0;
  private serverNs = 0;
  private t2 = 0;
  private t3 = 0;
  private childResource = 0;
  private services = new Map<number, string>();
  private shard = 0;
  private onProgress: ((roots: number) => void) | undefined;
  private cutOff: ReadonlySet<number> = new Set();

  /**
   * Before a shard's rows: its resource ids → service names, its index, a progress callback, and
   * the rowids of its roots cut off by the end of the run (counted apart, in no figure).
   */
  startShard(services: Map<number, string>, shard: number, onProgress?: (roots: number) => void, cutOff: ReadonlySet<number> = new Set()): void {
    this.services = services;
    this.shard = shard;
    this.onProgress = onProgress;
    this.cutOff = cutOff;
    this.current = null;
  }

  /**
   * One pair row, columns as model/span-reads.ts P (called by SQLite itself, through a function, for
   * each row of the pairing join: no row object crosses into JavaScript).
   */
  readonly row = (
    root: number, endpoint: string, flags: number, clientNs: number, second: number,
    sentMs: number | null, waitingMs: number | null, blockedMs: number | null, setupMs: number | null,
    receivingMs: number | null, serverResource: number | null, serverRelNs: number | null, serverNs: number | null,
  ): null => {
    if (this.current === null || root !== this.current[P.ROOT]) {
      this.flush();
      this.current = [root, endpoint, flags, clientNs, second, sentMs, waitingMs, blockedMs, setupMs, receivingMs, null, null, null];
      this.children = 0;
      this.badChildren = 0;
      this.serverNs = 0;
    }
    if (serverResource === null) return null;
    const dur = serverNs as number;
    const rel = serverRelNs as number;
    if (dur < 0) {
      this.badChildren += 1;
      return null;
    }
    if (this.children === 0) {
      this.t2 = rel;
      this.t3 = rel + dur;
      this.childResource = serverResource;
    } else {
      if (rel < this.t2) this.t2 = rel;
      if (rel + dur > this.t3) this.t3 = rel + dur;
    }
    this.children += 1;
    this.serverNs += dur;
    return null;
  };

  /** After a shard's rows. */
  endShard(): void {
    this.flush();
    this.current = null;
  }

  private flush(): void {
    if (this.current === null) return;
    this.finishRoot(this.current, this.children, this.badChildren, this.serverNs, this.t2, this.t3, this.services.get(this.childResource) ?? '?', this.shard);
    if (this.onProgress !== undefined && (this.rootSpans & 0xffff) === 0) this.onProgress(this.rootSpans);
  }

  /** Consume pair rows from an iterator (the same as SQLite calling `row`). */
  consume(rows: Iterable<PairRow>, services: Map<number, string>, shard: number, onProgress?: (roots: number) => void): void {
    this.startShard(services, shard, onProgress);
    for (const r of rows) this.row(...r);
    this.endShard();
  }

  /** The accumulator of an endpoint name: MAX_ENDPOINTS names, then every new one is folded into OTHER_ENDPOINT (one more). */
  private endpoint(name: string): EndpointAccumulator {
    let ep = this.endpoints.get(name);
    if (ep === undefined) {
      if (this.endpoints.size >= MAX_ENDPOINTS && name !== OTHER_ENDPOINT) {
        this.odd.endpointsFolded += 1;
        return this.endpoint(OTHER_ENDPOINT);
      }
      this.endpoints.set(name, (ep = new EndpointAccumulator(name)));
    }
    return ep;
  }

  private finishRoot(
    row: PairRow,
    children: number,
    badChildren: number,
    serverNs: number,
    t2: number,
    t3: number,
    service: string,
    shard: number,
  ): void {
    this.rootSpans += 1;
    const ep = this.endpoint(row[P.ENDPOINT]);
    if (this.cutOff.has(row[P.ROOT])) {
      ep.cutOff += 1;
      return;
    }
    const flags = row[P.FLAGS];
    const error = (flags & 1) === 1;
    ep.count += 1;
    if (error) ep.errors += 1;
    if (flags >> 1 === 0) ep.newConnections += 1;
    if (flags >> 1 !== 2) ep.connectionKnown += 1;
    this.odd.serverEndBeforeStart += badChildren;
    if (children > 0) ep.matched += 1;
    if (children > 1) {
      ep.multipleChildren += 1;
      ep.extraChildren += children - 1;
    }
    const clientNs = row[P.CLIENT_NS];
    const second = row[P.SECOND];
    const plausible = clientNs >= 0 && clientNs <= MAX_PLAUSIBLE_NS;
    this.diag.root(second, ep.name, children > 0, plausible ? clientNs : null);
    if (!plausible) {
      if (clientNs < 0) this.odd.clientEndBeforeStart += 1;
      else this.odd.implausibleDuration += 1;
      this.timeline.record(second, null, null, null, error);
      return;
    }
    ep.client.record(clientNs);
    ep.overTime.record(second, clientNs);
    if (children === 0) {
      this.timeline.record(second, clientNs, null, null, error);
      return;
    }
    ep.server.record(serverNs);
    if (t2 < 0 || t3 > clientNs) this.odd.serverOutsideClientSpan += 1;
    if (serverNs > clientNs) {
      this.odd.serverLongerThanClient += 1;
      this.timeline.record(second, clientNs, serverNs, null, error);
      return;
    }
    const gapNs = clientNs - serverNs;
    ep.gap.record(gapNs);
    // Spans without the attribute (real Locust) are in neither: only the total gap holds them.
    const connection = flags >> 1;
    if (connection === 0) ep.gapOpened.record(gapNs);
    else if (connection === 1) ep.gapReused.record(gapNs);
    this.timeline.record(second, clientNs, serverNs, gapNs, error);
    this.keepTop(gapNs, shard, row[P.ROOT], ep.name);

    let estimator = this.offsets.get(service);
    if (estimator === undefined) this.offsets.set(service, (estimator = new OffsetEstimator(service)));
    estimator.addBounds(t3 - clientNs, t2);
    const sentMs = row[P.SENT_MS];
    const waitingMs = row[P.WAITING_MS];
    if (sentMs !== null && waitingMs !== null) {
      const sentNs = sentMs * 1e6;
      const waitingNs = waitingMs * 1e6;
      estimator.add(sentNs, t2, t3, sentNs + waitingNs, true);
      const blockedNs = (row[P.BLOCKED_MS] ?? 0) * 1e6;
      const setupNs = (row[P.SETUP_MS] ?? 0) * 1e6;
      const receivingNs = (row[P.RECEIVING_MS] ?? 0) * 1e6;
      ep.breakdown.addMeasured(service, clientNs, serverNs, blockedNs, setupNs, sentNs, waitingNs, receivingNs, t2, t3);
      ep.tail.at(gapNs).addMeasured(service, clientNs, serverNs, blockedNs, setupNs, sentNs, waitingNs, receivingNs, t2, t3);
      this.diag.measured(second, ep.name, service, clientNs, serverNs, blockedNs, setupNs, sentNs, waitingNs, receivingNs, t2, t3);
    } else {
      estimator.add(0, t2, t3, clientNs, false);
      ep.breakdown.addBounds(service, clientNs, serverNs, t2, t3);
      ep.tail.at(gapNs).addBounds(service, clientNs, serverNs, t2, t3);
      this.diag.bounds(second, ep.name, service, clientNs, serverNs, t2, t3);
    }
  }

  private keepTop(gapNs: number, shard: number, rowid: number, endpoint: string): void {
    if (this.topN <= 0) return;
    let h = this.#tops.get(endpoint);
    if (h === undefined) this.#tops.set(endpoint, (h = []));
    if (h.length >= this.topN && gapNs <= (h[0] as GapCandidate).gapNs) return;
    const item = { gapNs, shard, rowid, endpoint };
    if (h.length < this.topN) {
      h.push(item);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if ((h[p] as GapCandidate).gapNs <= (h[i] as GapCandidate).gapNs) break;
        [h[p], h[i]] = [h[i] as GapCandidate, h[p] as GapCandidate];
        i = p;
      }
      return;
    }
    h[0] = item;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as GapCandidate).gapNs < (h[m] as GapCandidate).gapNs) m = l;
      if (r < h.length && (h[r] as GapCandidate).gapNs < (h[m] as GapCandidate).gapNs) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i] as GapCandidate, h[m] as GapCandidate];
      i = m;
    }
  }
}
