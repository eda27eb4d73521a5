// The bounded write queue between decoding and SQLite. Decoded requests wait here for the next
// commit; everything queued in one turn of the event loop is written in one transaction (group
// commit), and each request's promise settles only after that COMMIT — so "200 OK" always means
// "on disk in the WAL". When the queue holds more than `maxPendingItems` spans and data points,
// new requests are refused (the receiver answers 429 with Retry-After) instead of growing memory.
import type { MetricsRequest, TracesRequest } from '../model/otlp.ts';
import type { InsertResult, SpanStore, WriteJob } from '../model/store.ts';

interface Pending {
  job: WriteJob;
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
  private readonly store: SpanStore;
  readonly maxPendingItems: number;
  private queue: Pending[] = [];
  private pendingItems = 0;
  private scheduled = false;
  private commits = 0;
  private committedItems = 0;
  private idleWaiters: (() => void)[] = [];
  private paused = false;

  constructor(store: SpanStore, maxPendingItems: number) {
    this.store = store;
    this.maxPendingItems = maxPendingItems;
  }

  /** True when a request of `items` spans/points may join the queue now. */
  hasRoom(items: number): boolean {
    // An empty queue takes any request, however large, so one big batch can never be refused forever.
    return this.pendingItems === 0 || this.pendingItems + items <= this.maxPendingItems;
  }

  submitTraces(request: TracesRequest, items: number): Promise<InsertResult> {
    return this.submit({ traces: request }, items);
  }

  submitMetrics(request: MetricsRequest, items: number): Promise<InsertResult> {
    return this.submit({ metrics: request }, items);
  }

  stats(): WriteQueueStats {
    return {
      pendingItems: this.pendingItems,
      pendingRequests: this.queue.length,
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
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private submit(job: WriteJob, items: number): Promise<InsertResult> {
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
    if (this.paused) return;
    const batch = this.queue;
    this.queue = [];
    let results: InsertResult[] | undefined;
    let failure: unknown;
    try {
      results = this.store.writeBatch(
        batch.map((p) => p.job),
        Date.now(),
      );
    } catch (error) {
      failure = error;
    }
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
    if (this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
