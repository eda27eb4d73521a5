// The receiver's store writer (receiver/store-writer.ts) on its own, in process: writes to a file
// go through a real writer thread and resolve after COMMIT, each with its own jobs' results even
// when several are outstanding; a thread that dies makes every write after it fail at once with
// the reason, and close() still returns; an in-memory store is written on the calling thread, its
// errors as rejections. Metric jobs are used: they need no span rows.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanStore, type WriteJob } from '../model/store.ts';
import { storeWriter } from '../receiver/store-writer.ts';
import { usersMetric } from './helpers/analyzer-traces.ts';
import { metricPointCount } from './helpers/stored-metrics.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-store-writer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A metrics job of `n` users points at distinct seconds from `fromS`. */
const points = (n: number, fromS = 0): WriteJob => ({ metrics: usersMetric({ points: Array.from({ length: n }, (_, i) => ({ atMs: (fromS + i) * 1000, users: i })) }) });

describe('the writer thread of a file-backed store', () => {
  it('answers each of several outstanding writes with its own jobs, after they are committed', async () => {
    const path = join(dir, 'writes.db');
    const store = SpanStore.open(path);
    const writer = storeWriter(store);
    try {
      const [a, b, c] = await Promise.all([
        writer.write([points(2), points(3, 10)], Date.now()),
        writer.write([points(1, 20)], Date.now()),
        writer.write([points(4, 30)], Date.now()),
      ]);
      expect(a).toEqual([
        { stored: 2, duplicates: 0 },
        { stored: 3, duplicates: 0 },
      ]);
      expect(b).toEqual([{ stored: 1, duplicates: 0 }]);
      expect(c).toEqual([{ stored: 4, duplicates: 0 }]);
      // Committed before the answer: another connection sees them.
      expect(metricPointCount(path)).toBe(10);
      expect(await writer.write([points(1, 40)], Date.now())).toEqual([{ stored: 1, duplicates: 0 }]);
    } finally {
      await writer.close();
      store.close();
    }
    expect(metricPointCount(path)).toBe(11);
  });

  it('fails every write once the thread has died, with the reason, and still closes', async () => {
    const path = join(dir, 'gone.db');
    const store = SpanStore.open(path);
    // The file is replaced by a directory: the thread's own connection cannot open it, and it dies.
    rmSync(path);
    mkdirSync(path);
    const writer = storeWriter(store);
    try {
      const first = await writer.write([points(1)], Date.now()).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(first?.message).toMatch(/^the database writer thread failed: .*cannot open database/);
      // Later writes fail at once with the same error (nothing is sent to a dead thread).
      await expect(writer.write([points(1)], Date.now())).rejects.toBe(first);
      await expect(writer.write([], Date.now())).rejects.toBe(first);
    } finally {
      await writer.close();
      store.close();
    }
  });
});

describe('the in-thread writer of an in-memory store', () => {
  it('writes on the calling thread and resolves with the results', async () => {
    const store = SpanStore.open(':memory:');
    const writer = storeWriter(store);
    expect(await writer.write([points(2), points(1, 5)], Date.now())).toEqual([
      { stored: 2, duplicates: 0 },
      { stored: 1, duplicates: 0 },
    ]);
    await writer.close();
    // Still open after the writer closed: the store is its owner's to close.
    expect(store.writeBatch([points(1, 9)], Date.now())).toEqual([{ stored: 1, duplicates: 0 }]);
    store.close();
  });

  it('turns an error of the store into a rejection', async () => {
    const store = SpanStore.open(':memory:');
    const writer = storeWriter(store);
    store.close();
    await expect(writer.write([points(1)], Date.now())).rejects.toThrow(/not open/);
  });
});
