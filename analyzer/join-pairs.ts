// Pairing as a hash join (the store has no index by trace id), for one slice of the trace-id
// space: every thread of an analysis holds the tables of its own traces only. Pass 1 reads the
// SERVER spans in the run's window from the service-and-time index into a table keyed by (trace
// id, parent span id); pass 2 streams the run's roots in start order, probes the table and feeds
// the accumulator one pair row per server child (P columns, model/span-reads.ts), exactly the rows the
// SQL join of schema version 1 produced. A root, server child or background span stored twice —
// in one shard or two — counts once; a root and its child pair up whichever shards hold them.
import { ChildTable, RootTable } from './id-tables.ts';
import { RunAccumulator, type RunSnapshot } from './pair-spans.ts';
import {
  backgroundRows,
  countRoots,
  countServerSpans,
  feedAllRootIds,
  feedRunRoots,
  feedServerSpans,
  readResourceServices,
  type RunSelector,
  type Shard,
  type TraceRange,
} from '../model/span-reads.ts';
import { Digest } from './stats.ts';

/**
 * How far outside the run's window (on the generator's clock) a server span may start and still be
 * paired: the largest clock offset between a generator and a server that pairing tolerates.
 */
export const SERVER_WINDOW_NS = 3_600_000_000_000n;
/** Distinct background span names kept per run (the rest still count). */
export const MAX_BACKGROUND_NAMES = 1000;

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

export interface PairResult {
  snapshot: RunSnapshot;
  /** Roots skipped as copies of a root already counted. */
  duplicates: number;
}

/** Background traffic of one service in a window of its own clock. */
export interface BackgroundWindow {
  service: string;
  fromNs: bigint;
  toNs: bigint;
}

/** One slice's background traffic, to merge. */
export interface BackgroundPart {
  perService: Array<[string, number]>;
  digest: Digest;
  names: Array<[string, number]>;
}

/**
 * The join for one or more slices of the trace-id space, processed one after another: only one
 * slice's tables exist at a time, so memory is bounded by the slice size, whatever the database's.
 * A slice's tables are rebuilt for each request (the index passes are cheap next to holding them).
 */
export class TraceRangeJoin {
  private readonly shards: Shard[];
  private readonly ranges: TraceRange[];
  private readonly resources: Resources;
  private readonly expectedRoots: number;
  // One set of tables, emptied for each range (see ChildTable.reset).
  private readonly rootTable = new RootTable();
  private readonly childTable = new ChildTable();
  /**
   * Whether the roots table holds every root of the (only) range: true after a pairing that read
   * every root row there is (one run, the only CLIENT roots), so background() can use it as it is.
   */
  private holdsEveryRoot = false;

  /** `expectedRoots`: how many roots the shards hold in each range, about (sizes the tables once). */
  constructor(shards: Shard[], ranges: TraceRange[], expectedRoots: number) {
    this.shards = shards;
    this.ranges = ranges;
    this.resources = readResources(shards);
    this.expectedRoots = expectedRoots;
  }

  /** Every load-test root of the range, every run and shard: which traces are load tests, which roots were counted. */
  private roots(range: TraceRange): RootTable {
    const roots = this.rootTable;
    roots.reset(this.expectedRoots);
    this.holdsEveryRoot = false;
    for (const shard of this.shards) feedAllRootIds(shard, range, (ids) => roots.add(ids));
    return roots;
  }

  /**
   * Pair every root of the run (every shard) in these slices with its server children.
   * `cutOff[shard]`: rowids of that shard's roots cut off by the end of the run (cut-off.ts),
   * counted apart by the accumulator (pair rows carry the root's rowid in P.ROOT).
   */
  pair(run: RunSelector, cutOff: number[][], topN: number, onProgress?: (roots: number) => void): PairResult {
    const acc = new RunAccumulator(topN);
    const cutOffSets = this.shards.map((shard) => new Set(cutOff[shard.index] ?? []));
    let duplicates = 0;
    for (const range of this.ranges) duplicates += this.pairRange(run, range, acc, cutOffSets, onProgress);
    return { snapshot: acc.snapshot(), duplicates };
  }

  private pairRange(
    run: RunSelector,
    range: TraceRange,
    acc: RunAccumulator,
    cutOff: Array<ReadonlySet<number>>,
    onProgress?: (roots: number) => void,
  ): number {
    // Only to count each root once: the first sight of a root adds it (countOnce), so the table
    // needs no pass over every run's roots first (background traffic does: see background()).
    const roots = this.rootTable;
    roots.reset(this.expectedRoots);
    this.holdsEveryRoot = false;
    const from = run.startNs - SERVER_WINDOW_NS;
    const to = run.lastStartNs + SERVER_WINDOW_NS;
    const base = from;
    let expected = 0;
    for (const shard of this.shards) expected += countServerSpans(shard, from, to, range);
    const children = this.childTable;
    children.reset(expected);
    for (const shard of this.shards) {
      const global = this.resources.global[shard.index]!;
      feedServerSpans(shard, from, to, base, range, (ids, resourceId, relStartNs, durationNs) =>
        children.add(ids, global.get(resourceId) ?? -1, relStartNs, durationNs),
      );
    }
    // Children from the run's own service are not its server children (schema version 1's SQL
    // join said `s.service_name <> r.service_name`).
    const own = new Set<number>();
    for (const [id, service] of this.resources.services) if (service === run.service) own.add(id);

    let duplicates = 0;
    let read = 0;
    for (const shard of this.shards) {
      acc.startShard(this.resources.services, shard.index, onProgress, cutOff[shard.index]);
      read += feedRunRoots(shard, run, base, range, (rowid, endpoint, flags, clientNs, second, sentMs, waitingMs, blockedMs, setupMs, receivingMs, ids, relStartNs) => {
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
    // Every root row read (a count from the roots index, cheap next to reading their ids again):
    // the table is the one background() would build.
    if (this.ranges.length === 1) {
      let all = 0;
      for (const shard of this.shards) all += countRoots(shard, range);
      this.holdsEveryRoot = read === all;
    }
    return duplicates;
  }

  /** SERVER spans in the windows whose trace starts at no load-test root, each counted once. */
  background(windows: BackgroundWindow[]): BackgroundPart {
    const digest = new Digest();
    const perService = new Map<string, number>();
    const names = new Map<string, number>();
    for (const range of this.ranges) {
      const roots = this.holdsEveryRoot ? this.rootTable : this.roots(range);
      const seen = new RootTable();
      for (const w of windows) {
        for (const shard of this.shards) {
          for (const [durationNs, name, ids] of backgroundRows(shard, w.service, w.fromNs, w.toNs, range, (t) => roots.hasTrace(t))) {
            if (!seen.countOnce(ids)) continue; // stored twice: counted once
            perService.set(w.service, (perService.get(w.service) ?? 0) + 1);
            if (durationNs >= 0) digest.record(durationNs);
            if (names.size < MAX_BACKGROUND_NAMES || names.has(name)) names.set(name, (names.get(name) ?? 0) + 1);
          }
        }
      }
    }
    return { perService: [...perService], digest, names: [...names] };
  }
}
