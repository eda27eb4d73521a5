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
// at the end: one pass over the pairs, before the offset is known. Roots without phases (real
// Locust) get Jaeger's and Zipkin's equal split — half the gap before the server, half after —
// and are labelled estimated.

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
  /** Share of the gap explained by measured parts (0..1); estimated halves and unexplained excluded. */
  explainedShare: number;
  /** Share of the pairs whose split is the equal-split estimate (no phase attributes). */
  estimatedShare: number;
  /** 'measured' | 'estimated' (equal split) | 'mixed'. */
  basis: 'measured' | 'estimated' | 'mixed';
  /** Pairs split. */
  pairs: number;
}

export class BreakdownAccumulator {
  measured = 0;
  estimated = 0;
  blocked = 0;
  setup = 0;
  sending = 0;
  rawBefore = 0;
  between = 0;
  rawAfter = 0;
  receiving = 0;
  slack = 0;
  estimatedGap = 0;
  gapSum = 0;
  /** Measured pairs per server service, to apply each service's offset to the sums. */
  readonly perService = new Map<string, number>();

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

  addEstimated(gapNs: number): void {
    this.estimated += 1;
    this.gapSum += gapNs;
    this.estimatedGap += gapNs;
  }

  merge(o: BreakdownAccumulator): void {
    this.measured += o.measured;
    this.estimated += o.estimated;
    this.blocked += o.blocked;
    this.setup += o.setup;
    this.sending += o.sending;
    this.rawBefore += o.rawBefore;
    this.between += o.between;
    this.rawAfter += o.rawAfter;
    this.receiving += o.receiving;
    this.slack += o.slack;
    this.estimatedGap += o.estimatedGap;
    this.gapSum += o.gapSum;
    for (const [s, n] of o.perService) this.perService.set(s, (this.perService.get(s) ?? 0) + n);
  }

  /** Mean parts in ms, given each server service's offset in ns (0 when unknown); null with no pair to split. */
  finish(offsetNs: (service: string) => number): PhasesMs | null {
    const n = this.measured + this.estimated;
    if (n === 0) return null;
    let thetaSum = 0;
    for (const [service, count] of this.perService) thetaSum += offsetNs(service) * count;
    const half = this.estimatedGap / 2;
    const parts: GapParts = {
      poolWait: this.blocked / n,
      connectionSetup: this.setup / n,
      sending: this.sending / n,
      beforeServer: (this.rawBefore - thetaSum + half) / n,
      betweenAttempts: this.between / n,
      afterServer: (this.rawAfter + thetaSum + half) / n,
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
      explainedShare: gap > 0 ? Math.min(1, Math.max(0, measuredParts / gap)) : this.measured > 0 ? 1 : 0,
      estimatedShare: this.estimated / n,
      basis: this.estimated === 0 ? 'measured' : this.measured === 0 ? 'estimated' : 'mixed',
      pairs: n,
    };
    return out;
  }
}
