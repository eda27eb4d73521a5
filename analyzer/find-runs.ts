// Runs: the load-test roots of one generator service and run id. A run is found only from spans a
// load generator made: firstspan's (a run id, or its `firstspan.` resource attributes), real
// Locust's (the resource its --otel sets up: `filename` and `profile` beside service.name, see
// docs/locust.md), or a service the user names with --service. Any other trace-root CLIENT span
// (a cron job calling an API, a service's own outgoing call) is other client traffic: counted
// apart, never a run. Roots without a run id (real Locust sends none) are split by idle gaps: a
// pause longer than the gap with no request in flight ends a run. Shards hold parts of the same
// runs, so their groups are merged here.
import type { ResourceRow, RootGroup } from '../model/span-reads.ts';

/** How a service was recognised as a load generator. */
export type GeneratorKind = 'firstspan' | 'locust' | 'named';

/** Trace-root CLIENT spans of a service that is no load generator: not a run. */
export interface OtherClientTraffic {
  service: string;
  rootSpans: number;
}

/** Keys Locust's --otel puts on its resource and an ordinary service's SDK does not. */
const LOCUST_RESOURCE_KEYS = ['filename', 'profile'];

/** The load-generator services among the resources of every shard; `named` (--service) always is one. */
export function recognizeGenerators(resources: ResourceRow[], named?: string): Map<string, GeneratorKind> {
  const out = new Map<string, GeneratorKind>();
  for (const r of resources) {
    // Locust's resource wins: given a run id through OTEL_RESOURCE_ATTRIBUTES, its spans are
    // still Locust's (no cut-off mark, no phases).
    if (LOCUST_RESOURCE_KEYS.every((k) => r.keys.includes(k))) out.set(r.service, 'locust');
    else if (out.get(r.service) !== 'locust' && (r.runId !== null || r.keys.some((k) => k.startsWith('firstspan.')))) out.set(r.service, 'firstspan');
  }
  if (named !== undefined && !out.has(named)) out.set(named, 'named');
  return out;
}

/**
 * Keep the root groups of load generators (a group with a run id carries firstspan's run
 * attribute, so it is one); the rest is other client traffic, summed per service.
 */
export function loadTestGroups(
  groupsPerShard: RootGroup[][],
  generators: Map<string, GeneratorKind>,
): { groups: RootGroup[][]; other: OtherClientTraffic[] } {
  const other = new Map<string, number>();
  const groups = groupsPerShard.map((list) =>
    list.filter((g) => {
      if (g.runId !== null || generators.has(g.service)) return true;
      other.set(g.service, (other.get(g.service) ?? 0) + g.count);
      return false;
    }),
  );
  return {
    groups,
    other: [...other].map(([service, rootSpans]) => ({ service, rootSpans })).sort((a, b) => b.rootSpans - a.rootSpans || a.service.localeCompare(b.service)),
  };
}

export interface RunWindow {
  service: string;
  runId: string | null;
  /** Human label: the run id, or `{service}@{start}` for runs split by idle gaps. */
  label: string;
  /** First root start and last root end, ns on the generator's clock. */
  startNs: bigint;
  endNs: bigint;
  /** Roots counted per shard (a root stored in two shards counts twice here). */
  rootsInShards: number;
}

export interface RunFilter {
  service?: string;
  runId?: string;
  fromNs?: bigint;
  toNs?: bigint;
}

export function nsToIso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** Merge the root groups of every shard into runs, oldest first. */
export function findRuns(groupsPerShard: RootGroup[][], idleGapNs: bigint): RunWindow[] {
  const withId = new Map<string, RunWindow>();
  const withoutId = new Map<string, RootGroup[]>();
  for (const groups of groupsPerShard) {
    for (const g of groups) {
      if (g.runId === null) {
        let list = withoutId.get(g.service);
        if (list === undefined) withoutId.set(g.service, (list = []));
        list.push(g);
        continue;
      }
      const key = `${g.service}\u0000${g.runId}`;
      const run = withId.get(key);
      if (run === undefined) {
        withId.set(key, { service: g.service, runId: g.runId, label: g.runId, startNs: g.startNs, endNs: g.endNs, rootsInShards: g.count });
      } else {
        if (g.startNs < run.startNs) run.startNs = g.startNs;
        if (g.endNs > run.endNs) run.endNs = g.endNs;
        run.rootsInShards += g.count;
      }
    }
  }
  const runs = [...withId.values()];
  for (const [service, segments] of withoutId) {
    // Each shard already split its own roots; segments of different shards that overlap or lie
    // closer than the idle gap belong to the same run.
    segments.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    let current: RunWindow | null = null;
    for (const s of segments) {
      if (current !== null && s.startNs - current.endNs <= idleGapNs) {
        if (s.endNs > current.endNs) current.endNs = s.endNs;
        current.rootsInShards += s.count;
        continue;
      }
      current = { service, runId: null, label: '', startNs: s.startNs, endNs: s.endNs, rootsInShards: s.count };
      runs.push(current);
    }
  }
  for (const r of runs) if (r.runId === null) r.label = `${r.service}@${nsToIso(r.startNs)}`;
  runs.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.label.localeCompare(b.label)));
  return runs;
}

/**
 * Keep the runs the filters name. --from/--to keep runs that overlap the range and clip them to
 * it (only roots starting inside are analysed). --run-id also matches an idle-gap run's label.
 */
export function filterRuns(runs: RunWindow[], f: RunFilter): RunWindow[] {
  const out: RunWindow[] = [];
  for (const r of runs) {
    if (f.service !== undefined && r.service !== f.service) continue;
    if (f.runId !== undefined && r.runId !== f.runId && r.label !== f.runId) continue;
    if (f.fromNs !== undefined && r.endNs < f.fromNs) continue;
    if (f.toNs !== undefined && r.startNs > f.toNs) continue;
    const clipped = { ...r };
    if (f.fromNs !== undefined && f.fromNs > clipped.startNs) clipped.startNs = f.fromNs;
    if (f.toNs !== undefined && f.toNs < clipped.endNs) clipped.endNs = f.toNs;
    out.push(clipped);
  }
  return out;
}
