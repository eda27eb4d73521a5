// The record of an analysis (docs/analyzer.md#the-record): the results of its expensive passes —
// each shard's run finding, each run's hash join, background traffic and failures — kept in the
// first database, so a second analysis of unchanged data reads them instead of the spans. A value is
// keyed by everything that determines it (the run, the options that change it, the cut-off roots,
// the services that are generators, the shards' identities, this file's RECORD_FORMAT) and carries
// each shard's watermark (largest span rowid) from before the analysis read anything. It is used
// only while no span stored after its watermark falls under its guard (model/analysis-records.ts):
// never a stale figure, and a span appended far from the run does not cost a recomputation.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  ensureStoreId,
  readRecord,
  spansSince,
  spanWatermark,
  storeId,
  writeRecords,
  type RecordGuard,
  type RecordShard,
  type RecordWrite,
} from '../model/analysis-records.ts';
import type { Shard } from '../model/span-reads.ts';

/** Bump when a recorded value's shape or meaning changes: records of other formats are never read. */
export const RECORD_FORMAT = 2;
/**
 * The firstspan release, also in every key: another release's accumulators may differ in ways no
 * one remembered to mark with RECORD_FORMAT, so a new release never reads an older one's records.
 */
const RELEASE = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** How long a record's write waits for the receiver's write lock (it holds it per group commit, briefly). */
const BUSY_MS = 2000;

/** What the record did, for the command's stderr: a part read from it or computed, or why it is not written. */
export type RecordEvent = { kind: 'used' | 'computed'; part: string } | { kind: 'unwritable'; message: string };

/**
 * A structured-cloneable value as bytes: serialized (node:v8, the structured clone worker threads
 * use) and deflated at level 1 — a run's per-second state compresses well (55 MB serialized, 1.6 MB
 * recorded for the benchmark's 10 M spans; inflated in 73 ms), so records stay small and their write
 * transaction short. A large part packed on its own as soon as it exists (the join's state) is
 * freed at once, instead of a second serialized copy of it living until the record is written.
 */
export function pack(value: unknown): Buffer {
  return deflateRawSync(serialize(value), { level: 1 });
}

/** The value `pack` made (throws on bytes it did not make). */
export function unpack<T>(bytes: Uint8Array): T {
  return deserialize(inflateRawSync(bytes)) as T;
}

function keyOf(parts: unknown): string {
  const text = JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return createHash('sha256').update(text).digest('hex');
}

export class AnalysisRecord {
  private readonly shards: Shard[];
  private readonly ids: string[];
  /** Each shard's largest span rowid, read before any pass: whatever the passes read is at least this new. */
  private readonly marks: number[];
  private readonly note: (event: RecordEvent) => void;
  private readonly writes: RecordWrite[] = [];

  private constructor(shards: Shard[], ids: string[], marks: number[], note: (event: RecordEvent) => void) {
    this.shards = shards;
    this.ids = ids;
    this.marks = marks;
    this.note = note;
  }

  /**
   * The record of these shards, kept in the first. Undefined (and `note` told why) when it cannot
   * be used: a shard without an identity that cannot be given one (read-only), or an in-memory one.
   */
  static open(shards: Shard[], note: (event: RecordEvent) => void): AnalysisRecord | undefined {
    if (shards.length === 0) return undefined;
    if (shards.some((s) => s.path === ':memory:' || s.path === '')) {
      note({ kind: 'unwritable', message: 'an in-memory database keeps no record' });
      return undefined;
    }
    const marks = shards.map(spanWatermark);
    const ids: string[] = [];
    for (const shard of shards) {
      try {
        ids.push(storeId(shard) ?? ensureStoreId(shard.path, BUSY_MS));
      } catch (error) {
        note({ kind: 'unwritable', message: `${shard.path}: ${(error as Error).message}` });
        return undefined;
      }
    }
    return new AnalysisRecord(shards, ids, marks, note);
  }

  private key(kind: string, shards: number[], parts: unknown): string {
    return keyOf([RECORD_FORMAT, RELEASE, kind, shards.map((k) => this.ids[k]), parts]);
  }

  /**
   * The value recorded for `about` and `parts` (as given to keep) over these shards (indexes), if it
   * is still valid; `part` names it for the command's stderr. A record that is valid at newer rows has its watermarks moved up.
   */
  lookup<T>(kind: string, part: string, shards: number[], about: unknown, parts: unknown): T | undefined {
    const key = this.key(kind, shards, [about, parts]);
    const found = readRecord(this.shards[0]!, key);
    let value: T | undefined;
    if (found !== undefined && found.shards.length === shards.length) {
      const stale = shards.some((k, i) => {
        const was = found.shards[i]!;
        const shard = this.shards[k]!;
        // A store that shrank is not the one recorded (spans are never deleted): recompute.
        return was.storeId !== this.ids[k] || this.marks[k]! < was.rowid || spansSince(shard, was.rowid, found.guard);
      });
      if (!stale) {
        try {
          value = unpack<T>(found.value);
        } catch {
          value = undefined; // written by a runtime whose serialization this one cannot read: recompute
        }
      }
      if (value !== undefined && shards.some((k, i) => this.marks[k]! > found.shards[i]!.rowid)) {
        this.writes.push({ key, shards: this.shardMarks(shards) });
      }
    }
    this.note({ kind: value === undefined ? 'computed' : 'used', part });
    return value;
  }

  /**
   * Record `value` (structured-cloneable; packed now, so later changes to it do not matter). `about`
   * names what it is about (a run by its service, id and start): it replaces every other record of
   * the same thing, such as that run's before it grew. `parts` is everything else that determines it.
   */
  keep(kind: string, shards: number[], about: unknown, parts: unknown, guard: RecordGuard, value: unknown): void {
    this.writes.push({
      key: this.key(kind, shards, [about, parts]),
      kind,
      subject: this.key(kind, shards, about),
      format: RECORD_FORMAT,
      shards: this.shardMarks(shards),
      guard,
      value: pack(value),
    });
  }

  private shardMarks(shards: number[]): RecordShard[] {
    return shards.map((k) => ({ storeId: this.ids[k]!, rowid: this.marks[k]! }));
  }

  /** Write what was kept, in one short transaction; a failure is told, never thrown. */
  flush(): void {
    if (this.writes.length === 0) return;
    try {
      writeRecords(this.shards[0]!.path, RECORD_FORMAT, this.writes, BUSY_MS);
    } catch (error) {
      this.note({ kind: 'unwritable', message: `${this.shards[0]!.path}: ${(error as Error).message}` });
    }
    this.writes.length = 0;
  }
}
