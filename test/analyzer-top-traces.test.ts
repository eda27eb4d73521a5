// Which traces the report draws: the largest gaps in half the slots, the rest from each endpoint
// in turn, so one slow endpoint cannot fill the list; and a p95 threshold reads the new percentile.
import { describe, expect, it } from 'vitest';
import { diverseTop } from '../analyzer/analyze.ts';
import { parseThreshold } from '../analyzer/thresholds.ts';

describe('diverseTop', () => {
  it('keeps the largest gaps in half the slots and gives the rest to each endpoint in turn', () => {
    const c = (endpoint: string, gapNs: number) => ({ endpoint, gapNs });
    const all = [c('/slow', 900), c('/slow', 800), c('/slow', 700), c('/slow', 600), c('/slow', 550), c('/mid', 300), c('/mid', 250), c('/fast', 10)];
    // 3 largest, then /slow's next (the largest remaining), /mid's worst, /fast's worst.
    expect(diverseTop(all, 6)).toEqual([c('/slow', 900), c('/slow', 800), c('/slow', 700), c('/slow', 600), c('/mid', 300), c('/fast', 10)]);
    expect(diverseTop(all, 4)).toEqual([c('/slow', 900), c('/slow', 800), c('/slow', 700), c('/mid', 300)]);
    expect(diverseTop(all, 2)).toEqual([c('/slow', 900), c('/slow', 800)]);
    expect(diverseTop(all, 10)).toHaveLength(all.length);
    expect(diverseTop([], 3)).toEqual([]);
  });
});

describe('p95 thresholds', () => {
  it('parse like the other percentiles', () => {
    expect(parseThreshold('client.p95<200ms')).toMatchObject({ metric: 'client.p95', op: '<', value: 200, kind: 'ms' });
  });
});
