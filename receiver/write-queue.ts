// The bounded write queue between decoding and SQLite. Decoded requests are turned into rows here
// (on the decoding thread) and handed to the writer thread (store-writer.ts) once per turn of the
// event loop; the writer commits everything it has been handed since its last commit in one
// transaction (group commit), and each request's promise settles only after that COMMIT — so
// "200 OK" always means "on disk in the WAL". When the queue holds more than
// `maxPendingItems` spans and data points (queued or being committed), new requests are refused
// (the receiver answers 429 with Retry-After) instead of growing memory.
import type { MetricsRequest, TracesRequest } from '../model/otlp.ts';
import { spanRows } from '../model/span-rows.ts';
import type { InsertResult, SpanStore, WriteJob } from '../model/store.ts';
import { storeWriter, type StoreWriter } from './store-writer.ts';

interface Pending {
  /** Dropped once handed to the writer: a request's rows must not outlive their posting (they would be promoted to V8's old space and wait there for a full GC). */
  job: WriteJob | undefined;
  items: number;
  resolve: (r: InsertResult) => void;
  reject: (e: unknown) => void;
}

export interface WriteQueueStats {
  pendingItems: number;
  pendingRequests: number;
  commits: number;
  committedItems: number;
}

export class WriteQueue {
  private readonly writer: StoreWriter;
  readonly maxPendingItems: number;
  private queue: Pending[] = [];
  /** Requests handed to the writer and not yet committed. */
  private inFlight = 0;
  private pendingItems = 0;
  private scheduled = false;
  private commits = 0;
  private committedItems = 0;
  private idleWaiters: (() => void)[] = [];
  private paused = false;

  constructor(store: SpanStore, maxPendingItems: number) {
    this.writer = storeWriter(store);
    this.maxPendingItems = maxPendingItems;
  }

  /** True when a request of `items` spans/points may join the queue now. */
  hasRoom(items: number): boolean {
    // An empty queue takes any request, however large, so one big batch can never be refused forever.
    return this.pendingItems === 0 || this.pendingItems + items <= this.maxPendingItems;
  }

  /** The job to write for a decoded request: its spans as rows, or its metric points. */
  static job(request: TracesRequest | MetricsRequest): WriteJob {
    return 'resourceSpans' in request ? { spans: spanRows(request) } : { metrics: request };
  }

  stats(): WriteQueueStats {
    return {
      pendingItems: this.pendingItems,
      pendingRequests: this.queue.length + this.inFlight,
      commits: this.commits,
      committedItems: this.committedItems,
    };
  }

  /**
   * Hold commits (queued requests wait, unanswered) until resume(). Simulates a disk slower than the
   * network, so tests can drive the receiver into push-back deterministically.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Resolves once everything queued so far is committed (or failed). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Wait for every queued request, then stop the writer. */
  async close(): Promise<void> {
    await this.idle();
    await this.writer.close();
  }

  /** Queue one request's job of `items` spans or points; resolves after its COMMIT. */
  submit(job: WriteJob, items: number): Promise<InsertResult> {
    return new Promise<InsertResult>((resolve, reject) => {
      this.queue.push({ job, items, resolve, reject });
      this.pendingItems += items;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.paused || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks: requests that arrived together share a commit.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.paused || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight += batch.length;
    const jobs = batch.map((p) => p.job!);
    for (const p of batch) p.job = undefined;
    this.writer.write(jobs, Date.now()).then(
      (results) => this.settle(batch, results, undefined),
      (error: unknown) => this.settle(batch, undefined, error),
    );
  }

  private settle(batch: Pending[], results: InsertResult[] | undefined, failure: unknown): void {
    this.inFlight -= batch.length;
    let items = 0;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      items += p.items;
      if (results !== undefined) p.resolve(results[i]!);
      else p.reject(failure);
    }
    this.pendingItems -= items;
    if (results !== undefined) {
      this.commits += 1;
      this.committedItems += items;
    }
    if (this.queue.length === 0 && this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
