// The report in words: a few generated sentences at the top of each run (which endpoint's gap
// matters most, how much, its main cause, whether propagation works), and a sentence for every
// kind of odd data saying what it means and whether it distorts the figures. Pure functions of
// the report's figures; the table and the HTML print the same sentences (JSON carries them too).
import { PART_NAMES, type GapParts, type PhasesMs } from './gap-breakdown.ts';
import type { Oddities } from './pair-spans.ts';
import type { Stats } from './stats.ts';
import type { TailPhases } from './tail-breakdown.ts';

// What the sentences read of a run's report (analyze.ts RunReport and EndpointReport): said here,
// so that the orchestration can build the sentences without a cycle between the two modules.
interface EndpointFigures {
  name: string;
  matched: number;
  gapMs: Stats | null;
  phasesMs: PhasesMs | null;
  tailPhasesMs: TailPhases;
  gapByConnection: { opened: { count: number; gapMs: Stats | null }; reused: { count: number; gapMs: Stats | null } } | null;
}

interface RunFigures {
  rootSpans: number;
  matched: number;
  propagationCoverage: number;
  endpoints: EndpointFigures[];
}

interface OddFigures {
  oddities: Oddities;
  total: { multipleServerChildren: number; extraServerChildren: number };
}

/** Each part of the gap in words (also the HTML's labels). */
export const PART_LABELS: Record<keyof GapParts, string> = {
  poolWait: 'pool wait',
  connectionSetup: 'connection set-up',
  sending: 'sending',
  beforeServer: 'before server',
  betweenAttempts: 'between attempts',
  afterServer: 'after server',
  download: 'download',
  unexplained: 'unexplained',
};

/** What each part means, said as the cause of a wait. */
const PART_CAUSES: Record<keyof GapParts, string> = {
  poolWait: 'waiting for a free connection in the client pool',
  connectionSetup: 'opening connections (DNS, TCP connect, TLS)',
  sending: 'sending the request',
  beforeServer: 'the time before the server span started (network, proxies, load balancers, queues in front of the server)',
  betweenAttempts: 'the time between retries or redirects',
  afterServer: 'the time after the server span ended (the response on its way back)',
  download: 'downloading the response body',
  unexplained: 'time the client spans do not account for',
};

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`;
}

function pct(v: number): string {
  return `${Number((v * 100).toFixed(1))}%`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The largest part of a split, in words, with the basis when it is not measured. */
function mainCause(p: PhasesMs): { part: keyof GapParts; text: string } {
  let best: keyof GapParts = 'unexplained';
  for (const part of PART_NAMES) if (p[part] > p[best]) best = part;
  const basis =
    p.basis === 'offset'
      ? `, placed by the clock offset to ±${ms(p.errorBoundMs ?? 0)}`
      : p.basis === 'estimated'
        ? ' (an equal-split estimate: these spans have no connection phases and no trustworthy clock offset)'
        : '';
  return { part: best, text: `${PART_CAUSES[best]}, ${ms(p[best])} of it${basis}` };
}

/** Total gap time of an endpoint (mean × the pairs with a gap): what it costs the users in all. */
function gapTime(ep: EndpointFigures): number {
  return ep.gapMs === null ? 0 : ep.gapMs.mean * (ep.phasesMs?.pairs ?? ep.matched);
}

/**
 * One to three sentences: the endpoint whose gap matters most (the largest mean gap), how
 * much, its main cause (a new connection's cost where the generator says which requests opened
 * one, else the largest part of the gap), and propagation.
 */
export function summarySentences(run: RunFigures): string[] {
  const out: string[] = [];
  const coverage = `Propagation ${pct(run.propagationCoverage)} (${run.matched} of ${plural(run.rootSpans, 'request')} matched a server span)`;
  if (run.matched === 0) {
    return [`No server span matched any of the ${plural(run.rootSpans, 'request')}: the hidden latency cannot be measured (see the warning). ${coverage}.`];
  }
  // What a request loses on average: an endpoint with few slow requests (every user's login over
  // a new connection) matters to each of those users more than one with many fast ones, whose
  // total may be larger; the share of the total is said beside it.
  const withGap = run.endpoints.filter((ep) => ep.gapMs !== null);
  const top = withGap.reduce<EndpointFigures | undefined>((a, ep) => (a === undefined || (ep.gapMs?.mean ?? 0) > (a.gapMs?.mean ?? 0) ? ep : a), undefined);
  if (top === undefined || top.gapMs === null) return [`${coverage}.`];
  const all = withGap.reduce((a, ep) => a + gapTime(ep), 0);
  const share = all > 0 ? gapTime(top) / all : 1;
  out.push(
    `${top.name} is where the gap matters most: a mean of ${ms(top.gapMs.mean)} per request (p99 ${ms(top.gapMs.p99)}) over ${plural(top.phasesMs?.pairs ?? top.matched, 'request')}, ${pct(share)} of the run's ${ms(all)} of hidden latency.`,
  );
  const split = top.gapByConnection;
  const opened = split?.opened;
  const reused = split?.reused;
  if (opened?.gapMs && reused?.gapMs && opened.count > 0 && reused.count > 0 && opened.gapMs.mean - reused.gapMs.mean > reused.gapMs.mean) {
    out.push(
      `The ${plural(opened.count, 'request')} that opened a connection waited ${ms(opened.gapMs.mean - reused.gapMs.mean)} more than the ${reused.count} that reused one (gap ${ms(opened.gapMs.mean)} against ${ms(reused.gapMs.mean)}): the cost of a new connection.`,
    );
  } else {
    const tail = top.tailPhasesMs.slowest10;
    if (top.phasesMs !== null) {
      const cause = mainCause(top.phasesMs);
      let sentence = `Its main cause is ${cause.text}.`;
      const tailCause = tail === null ? undefined : mainCause(tail);
      // The slowest requests may wait for another reason than the typical one: say so.
      if (tail !== null && tailCause !== undefined && tailCause.part !== cause.part) {
        sentence += ` In its slowest 10% (${plural(Math.round(tail.pairs), 'request')}, mean gap ${ms(tail.gap)}) it is ${PART_LABELS[tailCause.part]}: ${ms(tail[tailCause.part])}.`;
      }
      out.push(sentence);
    }
  }
  out.push(`${coverage}.`);
  return out;
}

/** What each kind of odd data is, what it means, and whether it distorts the figures. */
const ODDITY_WORDS: Record<keyof Oddities, string> = {
  clientEndBeforeStart:
    'load-test spans that end before they start (a broken clock or exporter on the generator): kept out of every duration figure; they count as requests only.',
  implausibleDuration: 'load-test spans that last longer than a day (broken timestamps): kept out of every duration figure; they count as requests only.',
  serverEndBeforeStart:
    'server spans that end before they start (a broken clock or exporter on the server): ignored as server children, so their requests may count as unmatched.',
  serverLongerThanClient:
    'server spans that last longer than their client span: the server ended its span after the response had left (e.g. in a callback a busy event loop ran late), or its clock runs at another rate. Their client and server times are in the figures; they have no gap, so the gap figures leave them out and describe the other requests.',
  serverOutsideClientSpan:
    'server spans that lie outside their client span on the raw clocks: what a clock offset between the hosts looks like. The gap needs no offset and is not affected; the before/after split removes the estimated offset (see Clock offsets).',
  duplicateRootSpans:
    'load-test spans stored twice (an exporter retry, or the same span in two shards): each is counted once; the figures are not affected.',
  endpointsFolded:
    "requests beyond the cap of distinct endpoint names, folded into '(other endpoints)': name requests by template (e.g. /product/{id}), not by raw URL.",
};

/** One line per kind of odd data present (and for several server children): its name, count and meaning. */
export function odditySentences(run: OddFigures, hide: (name: keyof Oddities) => boolean): Array<{ name: string; count: number; text: string }> {
  const out: Array<{ name: string; count: number; text: string }> = [];
  const multi = run.total.multipleServerChildren;
  if (multi > 0) {
    out.push({
      name: 'multipleServerChildren',
      count: multi,
      text: `requests with several server children (retries, redirects; ${run.total.extraServerChildren} extra): their server time is the sum of the children, and the time between them is its own part of the gap ('between attempts').`,
    });
  }
  for (const name of Object.keys(run.oddities) as Array<keyof Oddities>) {
    const n = run.oddities[name];
    if (n > 0 && !hide(name)) out.push({ name, count: n, text: ODDITY_WORDS[name] });
  }
  return out;
}
