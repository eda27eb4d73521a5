// Where the receiver's SQLite writes happen: either a worker thread that owns the connection
// (write-thread.ts), so decoding on the main thread and inserting run on two cores at once, or
// the calling thread itself for a store that another thread cannot open (":memory:").
// Either way write() resolves only after COMMIT.
import type { Worker } from 'node:worker_threads';
import { rowBuffers } from '../model/buffer-pool.ts';
import { transferables } from '../model/span-rows.ts';
import type { InsertResult, SpanStore, WriteJob } from '../model/store.ts';
import { startTsWorker } from '../model/worker-thread.ts';

export interface StoreWriter {
  /** Several writes may be outstanding; the thread commits all it has been sent at once. */
  write(jobs: WriteJob[], receivedAtMs: number): Promise<InsertResult[]>;
  /** Finish (every write already resolved) and release the connection. */
  close(): Promise<void>;
}

export type WriterRequest = { kind: 'write'; seq: number; jobs: WriteJob[]; receivedAtMs: number } | { kind: 'close' };
export type WriterReply =
  /** `buffers`: the rows' buffers, handed back for the next requests (model/buffer-pool.ts). */
  | { kind: 'done'; seq: number; results: InsertResult[]; buffers: ArrayBuffer[] }
  | { kind: 'failed'; seq: number; message: string }
  | { kind: 'closed' };

/**
 * The writer thread's V8 young generation, MiB. It keeps nothing alive between commits (rows
 * arrive as transferred buffers), so V8's default of up to 48 MiB was resident memory for
 * nothing: 6 took about 40 MiB off the receiver's peak RSS (docs/benchmarks.md).
 */
const WRITER_YOUNG_GENERATION_MB = 6;

/** A thread for a file-backed store; the calling thread for ":memory:" or an unnamed store. */
export function storeWriter(store: SpanStore): StoreWriter {
  if (store.path === ':memory:' || store.path === '') return inlineWriter(store);
  return threadWriter(store.path);
}

function inlineWriter(store: SpanStore): StoreWriter {
  return {
    write: (jobs, receivedAtMs) => {
      try {
        const results = store.writeBatch(jobs, receivedAtMs);
        for (const j of jobs) if (j.spans !== undefined) for (const b of transferables(j.spans)) rowBuffers.give(b);
        return Promise.resolve(results);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    close: () => Promise.resolve(),
  };
}

function threadWriter(path: string): StoreWriter {
  const worker: Worker = startTsWorker(new URL('./write-thread.ts', import.meta.url), { path }, { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB });
  const waiting = new Map<number, { resolve: (r: InsertResult[]) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let broken: Error | undefined;
  let closed: (() => void) | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = (error: Error): void => {
    broken ??= error;
    for (const w of waiting.values()) w.reject(broken);
    waiting.clear();
  };
  worker.on('message', (reply: WriterReply) => {
    if (reply.kind === 'closed') {
      closed?.();
      return;
    }
    const w = waiting.get(reply.seq);
    waiting.delete(reply.seq);
    if (reply.kind === 'done') {
      for (const b of reply.buffers) rowBuffers.give(b);
      w?.resolve(reply.results);
    }
    else w?.reject(new Error(reply.message));
  });
  worker.on('error', (error) => fail(new Error(`the database writer thread failed: ${error.message}`)));
  worker.on('exit', (code) => fail(new Error(`the database writer thread exited (code ${code})`)));
  return {
    write(jobs, receivedAtMs) {
      if (broken !== undefined) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        seq += 1;
        waiting.set(seq, { resolve, reject });
        // The rows' typed arrays move to the writer (no copy); their text is one string.
        const transfer = jobs.flatMap((j) => (j.spans === undefined ? [] : transferables(j.spans)));
        worker.postMessage({ kind: 'write', seq, jobs, receivedAtMs } satisfies WriterRequest, transfer);
      });
    },
    async close() {
      if (broken === undefined) {
        const done = new Promise<void>((resolve) => (closed = resolve));
        worker.postMessage({ kind: 'close' } satisfies WriterRequest);
        await Promise.race([done, exited]);
      }
      await worker.terminate();
      await exited;
    },
  };
}
