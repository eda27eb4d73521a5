// Requests cut off by the end of a run measured no response: the client span ends when the
// generator stopped, not when the server answered, so its duration, gap and error say nothing
// about the target. They are counted apart and kept out of every figure (percentiles, gaps,
// errors, coverage).
//  - firstspan marks them: `firstspan.request.cut_off = true` (model/attributes.ts).
//  - Real Locust kills its users mid-request at the end of the run and still exports their spans,
//    with no `http.status_code` (docs/locust.md). So for any other generator, a root with no
//    response status that ends in the run's last moments is one.
import type { GeneratorKind } from './find-runs.ts';

/** "The end of the run": roots ending this close to the run's last root end (ns). */
export const CUT_OFF_TAIL_NS = 2_000_000_000n;

/** Rowids of the cut-off roots among the candidates of model/span-reads.ts cutOffCandidates. */
export function cutOffRoots(candidates: Array<[number, number, number | null]>, generator: GeneratorKind): Set<number> {
  const out = new Set<number>();
  for (const [rowid, noStatus, marked] of candidates) {
    if (marked === 1 || (generator !== 'firstspan' && noStatus === 1)) out.add(rowid);
  }
  return out;
}
