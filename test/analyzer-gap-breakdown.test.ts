// The gap split's accumulator (analyzer/gap-breakdown.ts) on pairs whose parts are known by hand:
// a part that comes out negative, the shares and the basis of a mixed split and their wording, the
// error bound of the clock offset, and a scaled merge that carries offsets and phase-less pairs.
// test/analyzer-breakdown.test.ts has the plain cases; these are the ones mutation testing found
// unchecked.
import { describe, expect, it } from 'vitest';
import { BreakdownAccumulator, basisLabel, type OffsetForSplit, type PhasesMs } from '../analyzer/gap-breakdown.ts';

const MS = 1e6;
/** Client 100, server 40; blocked 5, setup 10, sent at 20, first byte at 90, download 6; server
 *  from `t2` to `t2 + 40` on its clock. Parts: 5, 10, 5, t2 − 20, 0, 50 − t2, 6, unexplained 4. */
function measured(acc: BreakdownAccumulator, service: string, t2 = 30): void {
  acc.addMeasured(service, 100 * MS, 40 * MS, 5 * MS, 10 * MS, 20 * MS, 70 * MS, 6 * MS, t2 * MS, (t2 + 40) * MS);
}
/** A pair without phases: client 50, server 30 from 6 to 36 on its clock (gap 20). */
function bounds(acc: BreakdownAccumulator, service: string, clientMs = 50): void {
  acc.addBounds(service, clientMs * MS, 30 * MS, 6 * MS, 36 * MS);
}
/** A measured pair whose two server attempts (40 ms in all) span 25 to 75: 10 ms between them. */
function retried(acc: BreakdownAccumulator): void {
  acc.addMeasured('edge', 100 * MS, 40 * MS, 5 * MS, 10 * MS, 20 * MS, 70 * MS, 6 * MS, 25 * MS, 75 * MS);
}
const offsets =
  (table: Record<string, OffsetForSplit>) =>
  (service: string): OffsetForSplit | undefined =>
    table[service];
const sum = (p: PhasesMs): number =>
  p.poolWait + p.connectionSetup + p.sending + p.beforeServer + p.betweenAttempts + p.afterServer + p.download + p.unexplained;

describe('BreakdownAccumulator.finish', () => {
  it('has nothing to split without pairs', () => {
    expect(new BreakdownAccumulator().finish(() => undefined)).toBeNull();
  });

  it('reports a part that comes out negative as zero, the unexplained rest carrying it, so the parts still add up to the gap', () => {
    const acc = new BreakdownAccumulator();
    measured(acc, 'svc', 15); // the server starts 5 ms before the request was sent, on its clock
    const p = acc.finish(() => undefined)!;
    expect(p).toMatchObject({ beforeServer: 0, afterServer: 35, unexplained: -1, gap: 60 });
    expect(sum(p)).toBeCloseTo(60, 6);
    // The same with the server's clock 38 ms behind: after the server would be −3 ms.
    const q = acc.finish(() => ({ offsetNs: -38 * MS, errorNs: 0 }))!;
    expect(q).toMatchObject({ beforeServer: 33, afterServer: 0, unexplained: 1 });
    expect(sum(q)).toBeCloseTo(60, 6);
    const late = new BreakdownAccumulator();
    measured(late, 'svc', 55); // the server ends 5 ms after the first byte arrived
    expect(late.finish(() => undefined)).toMatchObject({ beforeServer: 35, afterServer: 0, unexplained: -1 });
  });

  it('gives the explained share, and the shares and basis of a split that mixes measured, offset-placed and equal-split pairs', () => {
    const one = new BreakdownAccumulator();
    measured(one, 'svc');
    expect(one.finish(() => undefined)).toMatchObject({ explainedShare: 56 / 60, estimatedShare: 0, offsetShare: 0, basis: 'measured', errorBoundMs: null });

    const acc = new BreakdownAccumulator();
    measured(acc, 'svc');
    bounds(acc, 'locust');
    bounds(acc, 'cron');
    const p = acc.finish(offsets({ locust: { offsetNs: 2 * MS, errorNs: 1 * MS } }))!;
    // gap (60 + 20 + 20) / 3; the equal-split 20 ms and the 4 ms unexplained are not explained.
    expect(p.gap).toBeCloseTo(100 / 3, 5);
    expect(p.explainedShare).toBeCloseTo((100 - 4 - 20) / 100, 9);
    expect(p).toMatchObject({ basis: 'mixed', estimatedShare: 1 / 3, offsetShare: 1 / 3, errorBoundMs: 1, pairs: 3 });
    expect(basisLabel(p)).toBe('mixed (33.3% equal split, 33.3% clock offset ±1.00 ms)');

    const two = new BreakdownAccumulator();
    measured(two, 'svc');
    bounds(two, 'cron');
    const q = two.finish(() => undefined)!;
    expect(q).toMatchObject({ basis: 'mixed', estimatedShare: 0.5, offsetShare: 0, errorBoundMs: null });
    expect(q.explainedShare).toBeCloseTo((80 - 4 - 20) / 80, 9);
    expect(basisLabel(q)).toBe('mixed (50.0% equal split)');
  });

  it('names each basis, with the largest error bound of the offsets it used', () => {
    const acc = new BreakdownAccumulator();
    bounds(acc, 'a', 100);
    bounds(acc, 'b', 100);
    const p = acc.finish(offsets({ a: { offsetNs: 0, errorNs: 3 * MS }, b: { offsetNs: 0, errorNs: 12 * MS } }))!;
    expect(p).toMatchObject({ basis: 'offset', offsetShare: 1, estimatedShare: 0, errorBoundMs: 12 });
    expect(basisLabel(p)).toBe('clock offset ±12 ms');
    const small = acc.finish(offsets({ a: { offsetNs: 0, errorNs: 3 * MS }, b: { offsetNs: 0, errorNs: 1.5 * MS } }))!;
    expect(small.errorBoundMs).toBe(3);
    expect(basisLabel(small)).toBe('clock offset ±3.00 ms');
    const none = acc.finish(() => undefined)!;
    expect(none).toMatchObject({ basis: 'estimated', estimatedShare: 1, offsetShare: 0, errorBoundMs: null, explainedShare: 0 });
    expect(basisLabel(none)).toBe('estimated (equal split)');
    const m = new BreakdownAccumulator();
    measured(m, 'svc');
    expect(basisLabel(m.finish(() => undefined)!)).toBe('measured');
  });

  it('splits equally once the error bound reaches half the gap', () => {
    const acc = new BreakdownAccumulator();
    bounds(acc, 'locust'); // gap 20
    expect(acc.finish(offsets({ locust: { offsetNs: 2 * MS, errorNs: 10 * MS } }))).toMatchObject({ basis: 'estimated', beforeServer: 10, afterServer: 10 });
    expect(acc.finish(offsets({ locust: { offsetNs: 2 * MS, errorNs: 9.999 * MS } }))).toMatchObject({ basis: 'offset', beforeServer: 4, afterServer: 16 });
  });

  it('places several pairs of each kind with their service\'s offset: means over all pairs, retries kept apart', () => {
    const acc = new BreakdownAccumulator();
    for (let i = 0; i < 3; i++) measured(acc, 'shop');
    // Three pairs without phases whose two server attempts (30 ms in all) span 6 to 46: 10 ms between.
    for (let i = 0; i < 3; i++) acc.addBounds('edge', 60 * MS, 30 * MS, 6 * MS, 46 * MS);
    const p = acc.finish(offsets({ shop: { offsetNs: 4 * MS, errorNs: 0 }, edge: { offsetNs: 2 * MS, errorNs: 1 * MS } }))!;
    // shop: before 10 − 4, after 20 + 4; edge: before 6 − 2, after 14 + 2, between 10. Means over 6 pairs.
    expect(p).toMatchObject({ poolWait: 2.5, connectionSetup: 5, sending: 2.5, beforeServer: 5, betweenAttempts: 5, afterServer: 20, download: 3, unexplained: 2, gap: 45 });
    expect(p).toMatchObject({ basis: 'mixed', offsetShare: 0.5, estimatedShare: 0, errorBoundMs: 1, pairs: 6 });
    expect(p.explainedShare).toBeCloseTo(43 / 45, 9);
    expect(sum(p)).toBeCloseTo(p.gap, 9);
    // An error bound of half the edge pairs' own gap (30 ms each) makes them an equal split: 15 ms before and after each.
    const q = acc.finish(offsets({ shop: { offsetNs: 4 * MS, errorNs: 0 }, edge: { offsetNs: 2 * MS, errorNs: 15 * MS } }))!;
    expect(q).toMatchObject({ beforeServer: 10.5, betweenAttempts: 0, afterServer: 19.5, estimatedShare: 0.5, offsetShare: 0, errorBoundMs: null });
    expect(sum(q)).toBeCloseTo(q.gap, 9);
  });

  it('calls a split without any gap fully explained when measured, and not explained at all when estimated', () => {
    const m = new BreakdownAccumulator();
    m.addMeasured('svc', 40 * MS, 40 * MS, 0, 0, 0, 40 * MS, 0, 0, 40 * MS);
    expect(m.finish(() => undefined)).toMatchObject({ gap: 0, explainedShare: 1 });
    const e = new BreakdownAccumulator();
    e.addBounds('locust', 30 * MS, 30 * MS, 0, 30 * MS);
    expect(e.finish(() => undefined)).toMatchObject({ gap: 0, explainedShare: 0, basis: 'estimated' });
  });
});

describe('BreakdownAccumulator.mergeScaled', () => {
  it("adds that share of another accumulator's pairs, each placed with its service's offset", () => {
    const split = offsets({ svc: { offsetNs: 3 * MS, errorNs: 0 }, locust: { offsetNs: 2 * MS, errorNs: 1 * MS } });
    // Half of two alike pairs of each kind is one of each.
    const acc = new BreakdownAccumulator();
    measured(acc, 'svc', 30);
    bounds(acc, 'locust', 50);
    const other = new BreakdownAccumulator();
    for (let i = 0; i < 2; i++) {
      measured(other, 'svc', 33);
      bounds(other, 'locust', 70);
      measured(other, 'edge', 25);
      retried(other);
      bounds(other, 'cron', 60); // a service this accumulator has not seen yet
    }
    acc.mergeScaled(other, 0.5);
    const reference = new BreakdownAccumulator();
    measured(reference, 'svc', 30);
    bounds(reference, 'locust', 50);
    measured(reference, 'svc', 33);
    bounds(reference, 'locust', 70);
    measured(reference, 'edge', 25);
    retried(reference);
    bounds(reference, 'cron', 60);
    expect(acc.pairs).toBe(7);
    const got = acc.finish(split)!;
    const want = reference.finish(split)!;
    for (const key of Object.keys(want) as Array<keyof PhasesMs>) {
      if (typeof want[key] === 'number') expect(got[key], key).toBeCloseTo(want[key], 6);
      else expect(got[key], key).toBe(want[key]);
    }
    expect(got.offsetShare).toBeCloseTo(2 / 7, 9);
    expect(got.estimatedShare).toBeCloseTo(1 / 7, 9);
    expect(got.betweenAttempts).toBeGreaterThan(0);
  });
});
