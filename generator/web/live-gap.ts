// The gap while the test runs: each of this test's CLIENT roots (read from the receiver's
// database) joined in memory with its SERVER child, per endpoint: gap p50/p99 (client duration −
// server duration, each from its own host's clock), the same for the requests that opened a
// connection and those that reused one, propagation coverage, and the share of requests that
// opened a connection. A root is judged only once it is GRACE_MS old: the target's spans arrive
// in batches, later than ours. Pure: the caller feeds it rows and asks for a snapshot.
import type * as hdr from 'hdr-histogram-js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER, type TailSpan } from '../../model/span-tail.ts';
import { newHistogram } from '../request-stats.ts';

/** How long a root waits for its server span before it counts as not propagated. */
export const GRACE_MS = 6000;
/** The window of the coverage warning. */
export const RECENT_MS = 10_000;
/** Coverage below this over the recent window raises the warning. */
export const COVERAGE_WARNING = 0.95;
/** Fewer judged roots than this in the window say nothing. */
const MIN_RECENT = 5;
/** Server spans whose root has not arrived are kept this long, then forgotten. */
const ORPHAN_MS = 60_000;

interface PendingRoot {
  endpoint: string;
  durationNs: number;
  opened: boolean | null;
  at: number;
}

class EndpointGap {
  roots = 0;
  matched = 0;
  judged = 0;
  opened = 0;
  openedKnown = 0;
  readonly gap: hdr.Histogram = newHistogram();
  readonly openedGap: hdr.Histogram = newHistogram();
  readonly reusedGap: hdr.Histogram = newHistogram();
  /** Judgements of the recent window: time and whether the root had its server child. */
  readonly recent: Array<{ at: number; matched: boolean }> = [];
}

export interface EndpointGapRow {
  name: string;
  roots: number;
  matched: number;
  /** Matched share of the roots judged so far; null before the first is judged. */
  coverage: number | null;
  /** The same over the last RECENT_MS of judgements. */
  recentCoverage: number | null;
  /** Share of roots that opened a connection; null when no span said. */
  openedShare: number | null;
  gapP50: number | null;
  gapP99: number | null;
  openedGapP50: number | null;
  reusedGapP50: number | null;
}

export interface GapSnapshot {
  runId: string;
  endpoints: EndpointGapRow[];
  total: EndpointGapRow;
  warnings: string[];
}

/** Gaps are recorded in microseconds (3 significant digits). A negative gap — a server span a
 *  hair longer than its client's, timer rounding on two hosts — counts as 1 µs: shifting the
 *  values to keep the sign would cost the histogram its relative precision. */
function ms(h: hdr.Histogram, p: number): number | null {
  return h.totalCount === 0 ? null : h.getValueAtPercentile(p) / 1000;
}

export class LiveGap {
  readonly runId: string;
  readonly #endpoints = new Map<string, EndpointGap>();
  readonly #total = new EndpointGap();
  readonly #roots = new Map<string, PendingRoot>();
  readonly #orphans = new Map<string, { durationNs: number; at: number }>();

  constructor(runId: string) {
    this.runId = runId;
  }

  #endpoint(name: string): EndpointGap {
    let e = this.#endpoints.get(name);
    if (e === undefined) {
      e = new EndpointGap();
      this.#endpoints.set(name, e);
    }
    return e;
  }

  add(spans: TailSpan[], now = Date.now()): void {
    for (const s of spans) {
      if (s.kind === SPAN_KIND_CLIENT && s.parentSpanId === null) {
        if (s.runId !== this.runId) continue;
        const endpoint = s.httpMethod !== null && s.requestName !== null ? `${s.httpMethod} ${s.requestName}` : s.name;
        const opened = s.connectionReused === null ? null : s.connectionReused === 0;
        const root: PendingRoot = { endpoint, durationNs: s.durationNs, opened, at: now };
        for (const e of [this.#endpoint(endpoint), this.#total]) {
          e.roots += 1;
          if (opened !== null) {
            e.openedKnown += 1;
            if (opened) e.opened += 1;
          }
        }
        const key = `${s.traceId}/${s.spanId}`;
        const orphan = this.#orphans.get(key);
        if (orphan !== undefined) {
          this.#orphans.delete(key);
          this.#match(root, orphan.durationNs, now);
        } else this.#roots.set(key, root);
      } else if (s.kind === SPAN_KIND_SERVER && s.parentSpanId !== null) {
        const key = `${s.traceId}/${s.parentSpanId}`;
        const root = this.#roots.get(key);
        if (root !== undefined) {
          this.#roots.delete(key);
          this.#match(root, s.durationNs, now);
        } else if (!this.#orphans.has(key)) this.#orphans.set(key, { durationNs: s.durationNs, at: now });
      }
    }
    this.#judge(now);
  }

  #match(root: PendingRoot, serverNs: number, now: number): void {
    const gapUs = Math.max(1, Math.round((root.durationNs - serverNs) / 1000));
    for (const e of [this.#endpoint(root.endpoint), this.#total]) {
      e.matched += 1;
      e.judged += 1;
      e.recent.push({ at: now, matched: true });
      e.gap.recordValue(gapUs);
      if (root.opened === true) e.openedGap.recordValue(gapUs);
      if (root.opened === false) e.reusedGap.recordValue(gapUs);
    }
  }

  /** Roots past the grace period without a server child: not propagated (or not arrived). */
  #judge(now: number): void {
    for (const [key, root] of this.#roots) {
      if (now - root.at < GRACE_MS) break; // insertion order is arrival order
      this.#roots.delete(key);
      for (const e of [this.#endpoint(root.endpoint), this.#total]) {
        e.judged += 1;
        e.recent.push({ at: now, matched: false });
      }
    }
    for (const [key, orphan] of this.#orphans) {
      if (now - orphan.at < ORPHAN_MS) break;
      this.#orphans.delete(key);
    }
    for (const e of [...this.#endpoints.values(), this.#total]) {
      let drop = 0;
      while (drop < e.recent.length && now - (e.recent[drop] as { at: number }).at > RECENT_MS) drop += 1;
      if (drop > 0) e.recent.splice(0, drop);
    }
  }

  snapshot(now = Date.now()): GapSnapshot {
    this.#judge(now);
    const row = (name: string, e: EndpointGap): EndpointGapRow => {
      const recentMatched = e.recent.filter((r) => r.matched).length;
      return {
        name,
        roots: e.roots,
        matched: e.matched,
        coverage: e.judged === 0 ? null : e.matched / e.judged,
        recentCoverage: e.recent.length === 0 ? null : recentMatched / e.recent.length,
        openedShare: e.openedKnown === 0 ? null : e.opened / e.openedKnown,
        gapP50: ms(e.gap, 50),
        gapP99: ms(e.gap, 99),
        openedGapP50: ms(e.openedGap, 50),
        reusedGapP50: ms(e.reusedGap, 50),
      };
    };
    const endpoints = [...this.#endpoints.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => row(name, e));
    const warnings: string[] = [];
    for (const [name, e] of this.#endpoints) {
      if (e.recent.length < MIN_RECENT) continue;
      const covered = e.recent.filter((r) => r.matched).length / e.recent.length;
      if (covered < COVERAGE_WARNING) {
        warnings.push(
          `Propagation coverage of ${name} fell to ${(covered * 100).toFixed(0)} % over the last ${RECENT_MS / 1000} s: ` +
            'the target stopped continuing the trace, or its spans stopped arriving at the receiver.',
        );
      }
    }
    return { runId: this.runId, endpoints, total: row('Aggregated', this.#total), warnings };
  }
}
