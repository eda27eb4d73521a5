// Where the gap went. gap = client duration − server duration (each on its own host's clock, so
// free of clock offset). With the client's connection phases and the server's offset θ (see
// clock-offset.ts), on the client's clock:
//   t1 = request sent = start + blocked + dns + connect + tls + sending;  t4 = first byte = t1 + waiting
//   beforeServer = (t2 − θ) − t1        afterServer = t4 − (t3 − θ)
// and the gap tiles exactly:
//   gap = blocked + (dns+connect+tls) + sending + beforeServer + betweenAttempts + afterServer
//         + receiving + unexplained
// where betweenAttempts is the client-side time between several server children (retries,
// redirects) and unexplained is what the phases do not cover of the client span.
//
// Means are linear, so the accumulator keeps sums of the raw (uncorrected) parts and applies θ once
// at the end: one pass over the pairs, before the offset is known.
//
// Roots without phases (real Locust) know only their own start and end: t1 = start, t4 = end, so
//   beforeServer = (t2 − θ) − start        afterServer = end − (t3 − θ)
// with θ estimated from the span bounds (clock-offset.ts), whose error is at most half the least
// round-trip slack among its trusted pairs: the split is labelled with that bound (basis
// 'offset'). Where that bound is no smaller than half the mean gap being split, the offset says
// nothing the equal split does not, so those pairs get Jaeger's and Zipkin's guess — half the gap
// before the server, half after — labelled 'estimated'.

export interface GapParts {
  poolWait: number;
  connectionSetup: number;
  sending: number;
  beforeServer: number;
  betweenAttempts: number;
  afterServer: number;
  download: number;
  unexplained: number;
}

export const PART_NAMES: Array<keyof GapParts> = [
  'poolWait',
  'connectionSetup',
  'sending',
  'beforeServer',
  'betweenAttempts',
  'afterServer',
  'download',
  'unexplained',
];

export interface PhasesMs extends GapParts {
  /** Mean gap these parts add up to, ms. */
  gap: number;
  /** Share of the gap explained by measured or offset-placed parts (0..1); equal-split halves and unexplained excluded. */
  explainedShare: number;
  /** Share of the pairs whose split is the equal-split estimate (no phases and no trustworthy offset). */
  estimatedShare: number;
  /** Share of the pairs split by placing the server span with the clock offset (no phases). */
  offsetShare: number;
  /**
   * 'measured' (connection phases) | 'offset' (span bounds placed by the clock offset, within
   * ±errorBoundMs) | 'estimated' (equal split) | 'mixed'.
   */
  basis: 'measured' | 'offset' | 'estimated' | 'mixed';
  /** For offset-placed pairs: how far before/after server may be off (half the offset's round-trip slack), ms; else null. */
  errorBoundMs: number | null;
  /** Pairs split. */
  pairs: number;
}

/** A server's clock offset as the split needs it: the estimate and its error bound, ns. */
export interface OffsetForSplit {
  offsetNs: number;
  errorNs: number;
}

/** Sums of the roots without phases, per server service (each is placed with its own offset). */
interface BoundsSums {
  n: number;
  /** Σ t2 (server start after the root's start, raw server clock). */
  start: number;
  /** Σ (client duration − t3). */
  end: number;
  between: number;
  gap: number;
}

export class BreakdownAccumulator {
  measured = 0;
  blocked = 0;
  setup = 0;
  sending = 0;
  rawBefore = 0;
  between = 0;
  rawAfter = 0;
  receiving = 0;
  slack = 0;
  gapSum = 0;
  /** Measured pairs per server service, to apply each service's offset to the sums. */
  readonly perService = new Map<string, number>();
  /** Roots without phases, per server service. */
  readonly bounds = new Map<string, BoundsSums>();

  /**
   * One measured pair; all values ns. t2first/t3last are the raw server times (server clock)
   * relative to the root's start; serverNs is the summed server duration.
   */
  addMeasured(
    service: string,
    clientNs: number,
    serverNs: number,
    blockedNs: number,
    setupNs: number,
    sentNs: number,
    waitingNs: number,
    receivingNs: number,
    t2first: number,
    t3last: number,
  ): void {
    this.measured += 1;
    this.gapSum += clientNs - serverNs;
    this.blocked += blockedNs;
    this.setup += setupNs;
    this.sending += sentNs - blockedNs - setupNs;
    this.rawBefore += t2first - sentNs;
    this.between += t3last - t2first - serverNs;
    this.rawAfter += sentNs + waitingNs - t3last;
    this.receiving += receivingNs;
    this.slack += clientNs - (sentNs + waitingNs + receivingNs);
    this.perService.set(service, (this.perService.get(service) ?? 0) + 1);
  }

  /** One pair without phases: client duration, summed server time, raw t2/t3 (server clock), ns. */
  addBounds(service: string, clientNs: number, serverNs: number, t2first: number, t3last: number): void {
    let b = this.bounds.get(service);
    if (b === undefined) this.bounds.set(service, (b = { n: 0, start: 0, end: 0, between: 0, gap: 0 }));
    b.n += 1;
    b.start += t2first;
    b.end += clientNs - t3last;
    b.between += t3last - t2first - serverNs;
    b.gap += clientNs - serverNs;
    this.gapSum += clientNs - serverNs;
  }

  /** Pairs added (measured and without phases). */
  get pairs(): number {
    let n = this.measured;
    for (const b of this.bounds.values()) n += b.n;
    return n;
  }

  merge(o: BreakdownAccumulator): void {
    this.mergeScaled(o, 1);
  }

  /**
   * Add `factor` (0..1) of another accumulator: its sums and counts scaled, as if that share of
   * its pairs (all alike) had been added. The tail (tail-breakdown.ts) takes part of a bucket so.
   */
  mergeScaled(o: BreakdownAccumulator, factor: number): void {
    this.measured += o.measured * factor;
    this.blocked += o.blocked * factor;
    this.setup += o.setup * factor;
    this.sending += o.sending * factor;
    this.rawBefore += o.rawBefore * factor;
    this.between += o.between * factor;
    this.rawAfter += o.rawAfter * factor;
    this.receiving += o.receiving * factor;
    this.slack += o.slack * factor;
    this.gapSum += o.gapSum * factor;
    for (const [s, n] of o.perService) this.perService.set(s, (this.perService.get(s) ?? 0) + n * factor);
    for (const [s, b] of o.bounds) {
      let mine = this.bounds.get(s);
      if (mine === undefined) this.bounds.set(s, (mine = { n: 0, start: 0, end: 0, between: 0, gap: 0 }));
      for (const k of ['n', 'start', 'end', 'between', 'gap'] as const) mine[k] += b[k] * factor;
    }
  }

  /**
   * Mean parts in ms, given each server service's offset (undefined when none was estimated);
   * null with no pair to split.
   */
  finish(offsetOf: (service: string) => OffsetForSplit | undefined): PhasesMs | null {
    let placed = 0;
    let estimated = 0;
    let estimatedGap = 0;
    let errorNs = -1;
    let before = this.rawBefore;
    let after = this.rawAfter;
    let between = this.between;
    for (const [service, count] of this.perService) {
      const theta = offsetOf(service)?.offsetNs ?? 0;
      before -= theta * count;
      after += theta * count;
    }
    for (const [service, b] of this.bounds) {
      const offset = offsetOf(service);
      if (offset === undefined || offset.errorNs * 2 >= b.gap / b.n) {
        estimated += b.n;
        estimatedGap += b.gap;
        continue;
      }
      placed += b.n;
      errorNs = Math.max(errorNs, offset.errorNs);
      before += b.start - offset.offsetNs * b.n;
      after += b.end + offset.offsetNs * b.n;
      between += b.between;
    }
    const n = this.measured + placed + estimated;
    if (n === 0) return null;
    const half = estimatedGap / 2;
    const parts: GapParts = {
      poolWait: this.blocked / n,
      connectionSetup: this.setup / n,
      sending: this.sending / n,
      beforeServer: (before + half) / n,
      betweenAttempts: between / n,
      afterServer: (after + half) / n,
      download: this.receiving / n,
      unexplained: this.slack / n,
    };
    // A part can only come out negative from timing noise or an offset estimate a little off;
    // never report it as such: clamp at zero and let the unexplained rest carry the difference,
    // so the parts still add up to the gap.
    for (const name of PART_NAMES) {
      if (name !== 'unexplained' && parts[name] < 0) {
        parts.unexplained += parts[name];
        parts[name] = 0;
      }
    }
    const gap = this.gapSum / n;
    const measuredParts = gap - parts.unexplained - (2 * half) / n;
    const out: PhasesMs = {
      ...(Object.fromEntries(PART_NAMES.map((k) => [k, Math.round(parts[k]) / 1e6])) as unknown as GapParts),
      gap: Math.round(gap) / 1e6,
      explainedShare: gap > 0 ? Math.min(1, Math.max(0, measuredParts / gap)) : this.measured + placed > 0 ? 1 : 0,
      estimatedShare: estimated / n,
      offsetShare: placed / n,
      basis: estimated === n ? 'estimated' : placed === n ? 'offset' : this.measured === n ? 'measured' : 'mixed',
      errorBoundMs: errorNs < 0 ? null : Math.round(errorNs) / 1e6,
      pairs: n,
    };
    return out;
  }
}

/** The basis of a split in a few words, for the table and the HTML. */
export function basisLabel(p: PhasesMs): string {
  const bound = p.errorBoundMs === null ? '' : ` ±${p.errorBoundMs < 10 ? p.errorBoundMs.toFixed(2) : p.errorBoundMs.toFixed(0)} ms`;
  switch (p.basis) {
    case 'measured':
      return 'measured';
    case 'offset':
      return `clock offset${bound}`;
    case 'estimated':
      return 'estimated (equal split)';
    default:
      return `mixed (${(p.estimatedShare * 100).toFixed(1)}% equal split${p.offsetShare > 0 ? `, ${(p.offsetShare * 100).toFixed(1)}% clock offset${bound}` : ''})`;
  }
}
