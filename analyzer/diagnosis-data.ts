// What the findings (findings.ts) and the baseline comparison (compare.ts) need beyond the endpoint
// digests, gathered in the same pass over the pairs and mergeable like them (shards, threads):
//  - per second of the run: roots, matched roots, the summed client time (mean requests in flight,
//    by Little's law), the summed server time, and the gap's parts (a BreakdownAccumulator, so the
//    clock offset is applied once at the end, as for the endpoint breakdown);
//  - per second and server service: the clock-offset sample with the least round-trip slack, to
//    see an offset drift over the run;
//  - per endpoint: roots and matched roots over time in at most COVERAGE_BUCKETS buckets whose
//    width doubles as the run goes on (a propagation break and when it began);
//  - per endpoint: a bounded uniform sample of the requests (reservoir.ts) for rank tests.
// Memory is bounded by the run's seconds (as the timeline is) and by the endpoint cap, never by
// the number of requests.
import { BreakdownAccumulator, type OffsetForSplit, type PhasesMs } from './gap-breakdown.ts';
import { Reservoir, SAMPLE_FIELDS } from './reservoir.ts';

export const COVERAGE_BUCKETS = 120;

class SecondData {
  roots = 0;
  matched = 0;
  clientSumNs = 0;
  serverSumNs = 0;
  servers = 0;
  readonly breakdown = new BreakdownAccumulator();
  /** Server service → [least delay, its offset sample], ns. */
  readonly clock = new Map<string, [number, number]>();
}

/** Roots and matched roots of one endpoint over time, in buckets of `width` seconds. */
class CoverageBuckets {
  width = 1;
  roots: number[] = [];
  matched: number[] = [];

  add(second: number, matched: boolean): void {
    let i = Math.floor(Math.max(0, second) / this.width);
    while (i >= COVERAGE_BUCKETS) {
      this.coarsen();
      i = Math.floor(Math.max(0, second) / this.width);
    }
    while (this.roots.length <= i) {
      this.roots.push(0);
      this.matched.push(0);
    }
    this.roots[i] = (this.roots[i] as number) + 1;
    if (matched) this.matched[i] = (this.matched[i] as number) + 1;
  }

  /** Double the bucket width, folding neighbours together. */
  private coarsen(): void {
    const fold = (a: number[]): number[] => {
      const out: number[] = [];
      for (let i = 0; i < a.length; i += 2) out.push((a[i] as number) + (a[i + 1] ?? 0));
      return out;
    };
    this.roots = fold(this.roots);
    this.matched = fold(this.matched);
    this.width *= 2;
  }

  merge(o: CoverageBuckets): void {
    while (this.width < o.width) this.coarsen();
    const other = Object.setPrototypeOf({ width: o.width, roots: [...o.roots], matched: [...o.matched] }, CoverageBuckets.prototype) as CoverageBuckets;
    while (other.width < this.width) other.coarsen();
    for (let i = 0; i < other.roots.length; i++) {
      while (this.roots.length <= i) {
        this.roots.push(0);
        this.matched.push(0);
      }
      this.roots[i] = (this.roots[i] as number) + (other.roots[i] as number);
      this.matched[i] = (this.matched[i] as number) + (other.matched[i] as number);
    }
  }
}

export interface SecondPoint {
  second: number;
  roots: number;
  matched: number;
  /** Pairs whose gap was split (measured or estimated). */
  pairs: number;
  /** Mean requests in flight in this second: client time of the requests started in it / 1 s. */
  inFlight: number;
  /** Active users the generator reported (carried forward), null without the metric. */
  users: number | null;
  /** Mean server time of the matched pairs, ms; null with none. */
  serverMeanMs: number | null;
  /** Mean gap parts of this second's pairs, ms (offset-corrected); null with no pair. */
  parts: PhasesMs | null;
}

export interface ClockSample {
  service: string;
  second: number;
  /** The second's offset sample with the least round-trip slack, and that slack, ms. */
  offsetMs: number;
  delayMs: number;
}

export interface CoverageSeries {
  endpoint: string;
  widthS: number;
  roots: number[];
  matched: number[];
}

export interface DiagnosisData {
  seconds: SecondPoint[];
  clock: ClockSample[];
  coverage: CoverageSeries[];
}

const scratch = new Float64Array(SAMPLE_FIELDS.length);

export class DiagnosisAccumulator {
  readonly seconds = new Map<number, SecondData>();
  readonly coverage = new Map<string, CoverageBuckets>();
  readonly samples = new Map<string, Reservoir>();

  static revive(data: DiagnosisAccumulator): DiagnosisAccumulator {
    Object.setPrototypeOf(data, DiagnosisAccumulator.prototype);
    for (const s of data.seconds.values()) {
      Object.setPrototypeOf(s, SecondData.prototype);
      Object.setPrototypeOf(s.breakdown, BreakdownAccumulator.prototype);
    }
    for (const c of data.coverage.values()) Object.setPrototypeOf(c, CoverageBuckets.prototype);
    for (const r of data.samples.values()) Reservoir.revive(r);
    return data;
  }

  private at(second: number): SecondData {
    let s = this.seconds.get(second);
    if (s === undefined) this.seconds.set(second, (s = new SecondData()));
    return s;
  }

  private sample(endpoint: string): Reservoir {
    let r = this.samples.get(endpoint);
    if (r === undefined) this.samples.set(endpoint, (r = new Reservoir()));
    return r;
  }

  /** Every root: its second, endpoint, whether a server child was found, its client time (null if broken). */
  root(second: number, endpoint: string, matched: boolean, clientNs: number | null): void {
    const s = this.at(second);
    s.roots += 1;
    if (matched) s.matched += 1;
    if (clientNs !== null) s.clientSumNs += clientNs;
    let c = this.coverage.get(endpoint);
    if (c === undefined) this.coverage.set(endpoint, (c = new CoverageBuckets()));
    c.add(second, matched);
  }

  /** A pair with phases; the arguments are BreakdownAccumulator.addMeasured's. */
  measured(
    second: number, endpoint: string, service: string, clientNs: number, serverNs: number, blockedNs: number, setupNs: number,
    sentNs: number, waitingNs: number, receivingNs: number, t2: number, t3: number,
  ): void {
    const s = this.at(second);
    s.serverSumNs += serverNs;
    s.servers += 1;
    s.breakdown.addMeasured(service, clientNs, serverNs, blockedNs, setupNs, sentNs, waitingNs, receivingNs, t2, t3);
    // The NTP sample of clock-offset.ts, kept per second when its slack is the least so far.
    const t4 = sentNs + waitingNs;
    const delay = t4 - sentNs - (t3 - t2);
    const theta = (t2 - sentNs + (t3 - t4)) / 2;
    const best = s.clock.get(service);
    if (best === undefined || delay < best[0]) s.clock.set(service, [delay, theta]);
    const v = scratch;
    v[0] = clientNs;
    v[1] = serverNs;
    v[2] = clientNs - serverNs;
    v[3] = blockedNs;
    v[4] = setupNs;
    v[5] = sentNs - blockedNs - setupNs;
    v[6] = t2 - sentNs;
    v[7] = t3 - t2 - serverNs;
    v[8] = t4 - t3;
    v[9] = receivingNs;
    v[10] = clientNs - (t4 + receivingNs);
    this.sample(endpoint).offer(service, v);
  }

  /** A pair without phases (real Locust): split by the span bounds, as the endpoint breakdown does. */
  bounds(second: number, endpoint: string, service: string, clientNs: number, serverNs: number, t2: number, t3: number): void {
    const s = this.at(second);
    s.serverSumNs += serverNs;
    s.servers += 1;
    s.breakdown.addBounds(service, clientNs, serverNs, t2, t3);
    const v = scratch;
    v.fill(0);
    v[0] = clientNs;
    v[1] = serverNs;
    v[2] = clientNs - serverNs;
    // The client's start and end stand for request sent and first byte; the offset is applied later.
    v[6] = t2;
    v[7] = t3 - t2 - serverNs;
    v[8] = clientNs - t3;
    this.sample(endpoint).offer(service, v);
  }

  merge(o: DiagnosisAccumulator): void {
    for (const [second, d] of o.seconds) {
      const s = this.at(second);
      s.roots += d.roots;
      s.matched += d.matched;
      s.clientSumNs += d.clientSumNs;
      s.serverSumNs += d.serverSumNs;
      s.servers += d.servers;
      s.breakdown.merge(d.breakdown);
      for (const [service, sample] of d.clock) {
        const best = s.clock.get(service);
        if (best === undefined || sample[0] < best[0]) s.clock.set(service, sample);
      }
    }
    for (const [endpoint, c] of o.coverage) {
      const mine = this.coverage.get(endpoint);
      if (mine === undefined) this.coverage.set(endpoint, c);
      else mine.merge(c);
    }
    for (const [endpoint, r] of o.samples) {
      const mine = this.samples.get(endpoint);
      if (mine === undefined) this.samples.set(endpoint, r);
      else mine.merge(r);
    }
  }

  /** The series, with each server's offset and the generator's active users per second. */
  finish(offsetOf: (service: string) => OffsetForSplit | undefined, users: Map<number, number>): DiagnosisData {
    let last = -1;
    for (const k of this.seconds.keys()) if (k > last) last = k;
    const seconds: SecondPoint[] = [];
    const clock: ClockSample[] = [];
    let currentUsers: number | null = null;
    for (let second = 0; second <= last; second++) {
      const u = users.get(second);
      if (u !== undefined) currentUsers = u;
      const s = this.seconds.get(second);
      if (s === undefined) continue;
      const pairs = s.breakdown.pairs;
      seconds.push({
        second,
        roots: s.roots,
        matched: s.matched,
        pairs,
        inFlight: s.clientSumNs / 1e9,
        users: currentUsers,
        serverMeanMs: s.servers === 0 ? null : s.serverSumNs / s.servers / 1e6,
        parts: s.breakdown.finish(offsetOf),
      });
      for (const [service, [delay, theta]] of s.clock) clock.push({ service, second, offsetMs: theta / 1e6, delayMs: delay / 1e6 });
    }
    const coverage = [...this.coverage].map(([endpoint, c]) => ({ endpoint, widthS: c.width, roots: [...c.roots], matched: [...c.matched] }));
    return { seconds, clock, coverage };
  }
}
