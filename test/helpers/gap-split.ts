// A gap split (analyzer/gap-breakdown.ts PhasesMs) built by hand, for tests of what reads one (the
// findings, the sentences): every part 0 ms, a measured basis over 10 pairs, and `over` on top.
import type { PhasesMs } from '../../analyzer/gap-breakdown.ts';

export function gapSplit(over: Partial<PhasesMs> = {}): PhasesMs {
  return {
    poolWait: 0,
    connectionSetup: 0,
    sending: 0,
    beforeServer: 0,
    betweenAttempts: 0,
    afterServer: 0,
    download: 0,
    unexplained: 0,
    gap: 0,
    explainedShare: 1,
    estimatedShare: 0,
    offsetShare: 0,
    basis: 'measured',
    errorBoundMs: null,
    pairs: 10,
    ...over,
  };
}
