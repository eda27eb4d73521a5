// The analysis record's own rules (analyzer/record.ts), driven directly on real store files in
// process: when a record cannot be kept, what a value is keyed by, when a kept value is used and
// when it is stale, the watermark moving up on a valid record, and pack/unpack. The end-to-end
// behaviour (a second analysis reading the first's record) is test/analyzer-record.test.ts's.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnalysisRecord, pack, unpack, type RecordEvent } from '../analyzer/record.ts';
import { closeShards, openShards, type Shard } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-record-core-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Store `roots` load-test roots (and a server child each) starting at `fromMs`, into the file `name`. */
function addRoots(name: string, roots: number, fromMs: number, seed = 1): void {
  const b = new TraceBuilder(seed);
  for (let i = 0; i < roots; i++) {
    const root = b.root({ startMs: fromMs + i * 10, durationMs: 5 });
    b.server(root, { beforeMs: 1, durationMs: 2 });
  }
  const store = SpanStore.open(join(dir, name));
  store.insertTraces(b.take());
  store.close();
}

/** A server span of no load test at `atMs`: stored, but no new root. */
function addBackground(name: string, atMs: number, seed: number): void {
  const b = new TraceBuilder(seed);
  b.background({ startMs: atMs, durationMs: 1 });
  const store = SpanStore.open(join(dir, name));
  store.insertTraces(b.take());
  store.close();
}

/** Open the files, run `use` with a record of them (events collected), flush, close. */
function withRecord<T>(names: string[], use: (r: AnalysisRecord, events: RecordEvent[]) => T): { value: T; events: RecordEvent[] } {
  const shards = openShards(names.map((n) => join(dir, n)));
  const events: RecordEvent[] = [];
  try {
    const record = AnalysisRecord.open(shards, (e) => events.push(e));
    if (record === undefined) throw new Error(`no record: ${JSON.stringify(events)}`);
    const value = use(record, events);
    record.flush();
    return { value, events };
  } finally {
    closeShards(shards);
  }
}

const MS = 1_000_000n;
const BASE = 1_760_003_200_000_000_000n;
const guardAround = (fromMs: number, toMs: number) => ({ fromNs: BASE + BigInt(fromMs) * MS, toNs: BASE + BigInt(toMs) * MS });

describe('opening a record', () => {
  it('needs shards, and files: an in-memory database keeps none, and says so', () => {
    const events: RecordEvent[] = [];
    expect(AnalysisRecord.open([], (e) => events.push(e))).toBeUndefined();
    expect(events).toEqual([]);
    const memory = { path: ':memory:' } as Shard;
    expect(AnalysisRecord.open([memory], (e) => events.push(e))).toBeUndefined();
    const unnamed = { path: '' } as Shard;
    expect(AnalysisRecord.open([unnamed], (e) => events.push(e))).toBeUndefined();
    expect(events).toEqual([
      { kind: 'unwritable', message: 'an in-memory database keeps no record' },
      { kind: 'unwritable', message: 'an in-memory database keeps no record' },
    ]);
  });
});

describe('a kept value', () => {
  it('is used by the next record of the same files, for the same parts only', () => {
    addRoots('a.db', 5, 0);
    const first = withRecord(['a.db'], (r) => {
      expect(r.lookup('run', 'run r', [0], { run: 'r' }, { topN: 1 })).toBeUndefined();
      r.keep('run', [0], { run: 'r' }, { topN: 1 }, guardAround(0, 100), { figures: [1, 2, 3] });
    });
    expect(first.events).toEqual([{ kind: 'computed', part: 'run r' }]);
    const second = withRecord(['a.db'], (r) => [
      r.lookup('run', 'run r', [0], { run: 'r' }, { topN: 1 }),
      r.lookup('run', 'run r (topN 2)', [0], { run: 'r' }, { topN: 2 }),
      r.lookup('runs', 'runs', [0], { run: 'r' }, { topN: 1 }),
      r.lookup('run', 'run s', [0], { run: 's' }, { topN: 1 }),
    ]);
    expect(second.value).toEqual([{ figures: [1, 2, 3] }, undefined, undefined, undefined]);
    expect(second.events.map((e) => e.kind)).toEqual(['used', 'computed', 'computed', 'computed']);
  });

  it('replaces the value kept before for the same subject', () => {
    addRoots('a.db', 5, 0);
    withRecord(['a.db'], (r) => r.keep('run', [0], { run: 'r' }, { end: 1 }, guardAround(0, 100), 'old'));
    withRecord(['a.db'], (r) => r.keep('run', [0], { run: 'r' }, { end: 2 }, guardAround(0, 100), 'new'));
    const { value } = withRecord(['a.db'], (r) => [r.lookup('run', 'x', [0], { run: 'r' }, { end: 1 }), r.lookup('run', 'x', [0], { run: 'r' }, { end: 2 })]);
    expect(value).toEqual([undefined, 'new']);
  });

  it('is stale once a span is stored inside its guard, and stays valid for spans outside it', () => {
    addRoots('a.db', 5, 0);
    withRecord(['a.db'], (r) => r.keep('run', [0], 'r', {}, guardAround(0, 100), 'v'));
    // A background span far away: still valid.
    addBackground('a.db', 5_000, 7);
    expect(withRecord(['a.db'], (r) => r.lookup('run', 'x', [0], 'r', {})).value).toBe('v');
    // One inside the guard: recomputed.
    addBackground('a.db', 50, 8);
    expect(withRecord(['a.db'], (r) => r.lookup('run', 'x', [0], 'r', {})).value).toBeUndefined();
  });

  it('with a roots-only guard, is stale on a new root anywhere and valid after other spans', () => {
    addRoots('a.db', 5, 0);
    withRecord(['a.db'], (r) => r.keep('runs', [0], null, {}, { rootsOnly: true }, ['groups']));
    addBackground('a.db', 50, 7);
    expect(withRecord(['a.db'], (r) => r.lookup('runs', 'x', [0], null, {})).value).toEqual(['groups']);
    addRoots('a.db', 1, 900_000, 9);
    expect(withRecord(['a.db'], (r) => r.lookup('runs', 'x', [0], null, {})).value).toBeUndefined();
  });

  it('moves its watermark up when used at newer rows, so a later span before that mark is no reason to recompute', () => {
    addRoots('a.db', 5, 0);
    withRecord(['a.db'], (r) => r.keep('run', [0], 'r', {}, guardAround(0, 100), 'v'));
    // Stored far away, then the record is used (valid): its watermark moves past that span.
    addBackground('a.db', 5_000, 7);
    expect(withRecord(['a.db'], (r) => r.lookup('run', 'x', [0], 'r', {})).value).toBe('v');
    expect(withRecord(['a.db'], (r) => r.lookup('run', 'x', [0], 'r', {})).value).toBe('v');
  });

  it('belongs to its shards: another set of files, or the files in another order, does not read it', () => {
    addRoots('a.db', 5, 0);
    addRoots('b.db', 5, 0, 2);
    withRecord(['a.db', 'b.db'], (r) => r.keep('run', [0, 1], 'r', {}, guardAround(0, 100), 'both'));
    expect(withRecord(['a.db', 'b.db'], (r) => r.lookup('run', 'x', [0, 1], 'r', {})).value).toBe('both');
    expect(withRecord(['a.db', 'b.db'], (r) => r.lookup('run', 'x', [0], 'r', {})).value).toBeUndefined();
    expect(withRecord(['a.db', 'b.db'], (r) => r.lookup('run', 'x', [1, 0], 'r', {})).value).toBeUndefined();
  });

  it('is stale when a shard is another store than the one recorded (same path, new file)', () => {
    addRoots('a.db', 5, 0);
    addRoots('b.db', 5, 0, 2);
    withRecord(['a.db', 'b.db'], (r) => r.keep('run', [0, 1], 'r', {}, guardAround(0, 100), 'both'));
    // b.db replaced by a new store with fewer spans: another identity.
    rmSync(join(dir, 'b.db'));
    rmSync(join(dir, 'b.db-wal'), { force: true });
    rmSync(join(dir, 'b.db-shm'), { force: true });
    addRoots('b.db', 2, 0, 3);
    expect(withRecord(['a.db', 'b.db'], (r) => r.lookup('run', 'x', [0, 1], 'r', {})).value).toBeUndefined();
  });

  it('is stale when a shard went back to an earlier copy of itself (same identity, fewer spans)', () => {
    addRoots('a.db', 5, 0);
    addRoots('b.db', 5, 0, 2);
    withRecord(['a.db', 'b.db'], () => undefined); // both get their identity
    copyFileSync(join(dir, 'b.db'), join(dir, 'b-backup.db'));
    addRoots('b.db', 5, 1_000, 3);
    withRecord(['a.db', 'b.db'], (r) => r.keep('run', [0, 1], 'r', {}, guardAround(0, 100), 'with the new spans'));
    copyFileSync(join(dir, 'b-backup.db'), join(dir, 'b.db'));
    expect(withRecord(['a.db', 'b.db'], (r) => r.lookup('run', 'x', [0, 1], 'r', {})).value).toBeUndefined();
  });

  it('writes nothing when nothing was kept', () => {
    addRoots('a.db', 5, 0);
    const { events } = withRecord(['a.db'], () => undefined);
    expect(events).toEqual([]);
  });
});

describe('pack and unpack', () => {
  it('give back a structured-cloneable value, bigints and maps included, and refuse other bytes', () => {
    const value = { n: 1n << 70n, m: new Map([['a', [1, 2]]]), f: new Float64Array([0.5, 2]), s: 'x'.repeat(10_000) };
    const bytes = pack(value);
    expect(bytes.length).toBeLessThan(1_000);
    expect(unpack(bytes)).toEqual(value);
    expect(() => unpack(Buffer.from('not a record'))).toThrow();
  });
});
