// Pairing as a hash join over the shards (the store has no index by trace id): pass 1 reads the
// SERVER spans in the run's window from the service-and-time index into a table keyed by (trace
// id, parent span id); pass 2 streams the run's roots in start order, probes the table and feeds
// the accumulator one pair row per server child (P columns, read-spans.ts), exactly the rows the
// SQL join used to produce. A root or server span stored twice — in one shard or two — counts once.
import { ChildTable, RootTable } from './id-tables.ts';
import type { RunAccumulator } from './pair-spans.ts';
import { feedAllRootIds, feedRunRoots, feedServerSpans, readResourceServices, type RunSelector, type Shard } from './read-spans.ts';

/**
 * How far outside the run's window (on the generator's clock) a server span may start and still be
 * paired: the largest clock offset between a generator and a server that pairing tolerates.
 */
export const SERVER_WINDOW_NS = 3_600_000_000_000n;

/** Resource ids of every shard mapped onto one numbering, with their services. */
export interface Resources {
  /** Global id → service name. */
  services: Map<number, string>;
  /** Per shard: its resource_id → global id. */
  global: Array<Map<number, number>>;
}

export function readResources(shards: Shard[]): Resources {
  const services = new Map<number, string>();
  const global = shards.map((shard) => {
    const ids = new Map<number, number>();
    for (const [id, service] of readResourceServices(shard)) {
      const g = services.size;
      services.set(g, service);
      ids.set(id, g);
    }
    return ids;
  });
  return { services, global };
}

/** Every load-test root of every shard: which traces are load tests, and which roots were counted. */
export function readRoots(shards: Shard[]): RootTable {
  const roots = new RootTable();
  for (const shard of shards) feedAllRootIds(shard, (ids) => roots.add(ids));
  return roots;
}

/**
 * Pair every root of the run (every shard) with its server children, into `acc`. Returns the
 * number of roots skipped as copies of a root already counted.
 */
export function joinRun(
  shards: Shard[],
  run: RunSelector,
  acc: RunAccumulator,
  roots: RootTable,
  resources: Resources,
  onProgress?: (roots: number) => void,
): number {
  const base = run.startNs - SERVER_WINDOW_NS;
  const children = new ChildTable();
  for (const shard of shards) {
    const global = resources.global[shard.index]!;
    feedServerSpans(shard, run.startNs - SERVER_WINDOW_NS, run.lastStartNs + SERVER_WINDOW_NS, base, (ids, resourceId, relStartNs, durationNs) =>
      children.add(ids, global.get(resourceId) ?? -1, relStartNs, durationNs),
    );
  }
  // Children from the run's own service are not its server children (the SQL join's
  // `s.service_name <> r.service_name`).
  const own = new Set<number>();
  for (const [id, service] of resources.services) if (service === run.service) own.add(id);

  let duplicates = 0;
  for (const shard of shards) {
    acc.startShard(resources.services, shard.index, onProgress);
    feedRunRoots(shard, run, base, (rowid, endpoint, flags, clientNs, second, sentMs, waitingMs, blockedMs, setupMs, receivingMs, ids, relStartNs) => {
      if (!roots.countOnce(ids)) {
        duplicates += 1;
        return;
      }
      let paired = false;
      children.forEachChild(ids, (resource, childRelNs, durationNs) => {
        if (own.has(resource)) return;
        paired = true;
        acc.row(rowid, endpoint, flags, clientNs, second, sentMs, waitingMs, blockedMs, setupMs, receivingMs, resource, childRelNs - relStartNs, durationNs);
      });
      if (!paired) acc.row(rowid, endpoint, flags, clientNs, second, sentMs, waitingMs, blockedMs, setupMs, receivingMs, null, null, null);
    });
    acc.endShard();
  }
  return duplicates;
}
