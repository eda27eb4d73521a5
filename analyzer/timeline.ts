// The per-second timeline of a run: requests, errors and client/server/gap p50 and p99 for each
// second after the run's start (on the generator's clock), the requests in flight derived from
// the spans themselves (so the ramp shows from the first second, whatever the metric interval),
// plus the active users the generator reported. Each second holds small mergeable digests (2 significant digits once past 256 values:
// the timeline is for eyes, the endpoint tables carry the precise figures).
import { Digest, nsToMs } from './stats.ts';

const SECOND_DIGEST = { exactLimit: 256, digits: 2 } as const;

class Second {
  requests = 0;
  errors = 0;
  /** Σ client durations of the requests starting in this second, ns. */
  busyNs = 0;
  readonly client = new Digest(SECOND_DIGEST);
  readonly server = new Digest(SECOND_DIGEST);
  readonly gap = new Digest(SECOND_DIGEST);
}

export interface TimelinePoint {
  /** Seconds after the run's start. */
  second: number;
  /** ISO time of the second's start. */
  time: string;
  requests: number;
  errors: number;
  /** Percentiles of the requests starting in the second; null when the second has no such value (never 0). */
  clientP50: number | null;
  clientP99: number | null;
  serverP50: number | null;
  serverP99: number | null;
  gapP50: number | null;
  gapP99: number | null;
  /**
   * Mean requests in flight during the second, from the spans (Little's law: the client time of
   * the requests starting in it, per second). Shows the ramp even when no users metric came.
   */
  inFlight: number;
  /**
   * Active users reported by the generator, summed over its user classes and processes; null
   * before its first report (or when it sent none): unknown, not zero.
   */
  users: number | null;
}

export class TimelineAccumulator {
  private readonly seconds = new Map<number, Second>();

  private at(second: number): Second {
    let s = this.seconds.get(second);
    if (s === undefined) this.seconds.set(second, (s = new Second()));
    return s;
  }

  record(second: number, clientNs: number | null, serverNs: number | null, gapNs: number | null, error: boolean): void {
    const s = this.at(second);
    s.requests += 1;
    if (error) s.errors += 1;
    if (clientNs !== null) {
      s.client.record(clientNs);
      s.busyNs += clientNs;
    }
    if (serverNs !== null) s.server.record(serverNs);
    if (gapNs !== null) s.gap.record(gapNs);
  }

  /** Give a structured-cloned accumulator (from a worker thread) its methods back. */
  static revive(data: TimelineAccumulator): TimelineAccumulator {
    Object.setPrototypeOf(data, TimelineAccumulator.prototype);
    for (const s of data.seconds.values()) {
      Digest.revive(s.client);
      Digest.revive(s.server);
      Digest.revive(s.gap);
    }
    return data;
  }

  merge(other: TimelineAccumulator): void {
    for (const [second, o] of other.seconds) {
      const s = this.at(second);
      s.requests += o.requests;
      s.errors += o.errors;
      s.busyNs += o.busyNs;
      s.client.merge(o.client);
      s.server.merge(o.server);
      s.gap.merge(o.gap);
    }
  }

  /**
   * Points for every second from 0 to the last one (idle seconds included, so charts show the
   * pauses). `users` maps a second to the active users, carried forward between reports.
   */
  finish(startMs: number, users: Map<number, number>): TimelinePoint[] {
    let last = -1;
    for (const k of this.seconds.keys()) if (k > last) last = k;
    for (const k of users.keys()) if (k > last) last = k;
    const out: TimelinePoint[] = [];
    let currentUsers: number | null = null;
    for (let second = 0; second <= last; second++) {
      const u = users.get(second);
      if (u !== undefined) currentUsers = u;
      const s = this.seconds.get(second);
      out.push({
        second,
        time: new Date(startMs + second * 1000).toISOString(),
        requests: s?.requests ?? 0,
        errors: s?.errors ?? 0,
        clientP50: percentile(s?.client, 50),
        clientP99: percentile(s?.client, 99),
        serverP50: percentile(s?.server, 50),
        serverP99: percentile(s?.server, 99),
        gapP50: percentile(s?.gap, 50),
        gapP99: percentile(s?.gap, 99),
        inFlight: s ? Math.round(s.busyNs / 1e7) / 100 : 0,
        users: currentUsers,
      });
    }
    return out;
  }
}

function percentile(d: Digest | undefined, p: number): number | null {
  return d === undefined || d.count === 0 ? null : nsToMs(d.percentileNs(p));
}

/**
 * Active users per second from gauge points: the last value of each series (a process's user
 * class: Locust and firstspan report one gauge point per class) in that second, summed over
 * classes and processes (workers of one run each report their own users).
 */
export function usersPerSecond(points: Array<{ resourceId: number; series: string; relMs: number; value: number }>): Map<number, number> {
  const latest = new Map<string, number>();
  const out = new Map<number, number>();
  for (const p of points) {
    if (p.relMs < 0) continue;
    latest.set(`${p.resourceId}\u0000${p.series}`, p.value);
    let sum = 0;
    for (const v of latest.values()) sum += v;
    out.set(Math.floor(p.relMs / 1000), sum);
  }
  return out;
}

/** One endpoint's response times over time: p50 and p95 of its client spans per bucket. */
export interface EndpointTimePoint {
  /** Seconds after the run's start at which the bucket begins. */
  second: number;
  requests: number;
  p50: number;
  p95: number;
}

/** Buckets per endpoint at most: long runs merge seconds so the report and JSON stay small. */
const MAX_BUCKETS = 300;

/**
 * An endpoint's client durations per second (small digests, as the run's timeline keeps), for
 * the report's per-endpoint percentiles over time. Mergeable across worker threads.
 */
export class EndpointTimeline {
  private readonly seconds = new Map<number, Digest>();

  record(second: number, clientNs: number): void {
    let d = this.seconds.get(second);
    if (d === undefined) this.seconds.set(second, (d = new Digest(SECOND_DIGEST)));
    d.record(clientNs);
  }

  static revive(data: EndpointTimeline): EndpointTimeline {
    Object.setPrototypeOf(data, EndpointTimeline.prototype);
    for (const d of data.seconds.values()) Digest.revive(d);
    return data;
  }

  merge(other: EndpointTimeline): void {
    for (const [second, o] of other.seconds) {
      const d = this.seconds.get(second);
      if (d === undefined) {
        const copy = new Digest(SECOND_DIGEST);
        copy.merge(o);
        this.seconds.set(second, copy);
      } else d.merge(o);
    }
  }

  /** Buckets of whole seconds (one second each unless the run is longer than MAX_BUCKETS s). */
  finish(lastSecond: number): EndpointTimePoint[] {
    const size = Math.max(1, Math.ceil((lastSecond + 1) / MAX_BUCKETS));
    const buckets = new Map<number, Digest>();
    for (const [second, d] of this.seconds) {
      const at = Math.floor(second / size) * size;
      let b = buckets.get(at);
      if (b === undefined) buckets.set(at, (b = new Digest(SECOND_DIGEST)));
      b.merge(d);
    }
    return [...buckets]
      .sort(([a], [b]) => a - b)
      .map(([second, d]) => ({ second, requests: d.count, p50: nsToMs(d.percentileNs(50)), p95: nsToMs(d.percentileNs(95)) }));
  }
}
