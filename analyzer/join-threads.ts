// The slices of an analysis (join-pairs.ts), on this thread or one worker thread each: the trace-id
// space is cut into equal ranges by first byte, each slice holds only its own traces' tables and
// reads every index once per pass, filtering by trace id. When the tables of all threads together
// would pass TABLE_BUDGET_BYTES, each thread takes its share in several ranges, one after another. Every
// piece of state a slice returns merges, so the figures are the same for any number of threads.
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../model/worker-thread.ts';
import type { BackgroundPart, BackgroundWindow, PairResult } from './join-pairs.ts';
import { TraceRangeJoin } from './join-pairs.ts';
import type { JoinJob, JoinRequest } from './join-worker.ts';
import { ALL_TRACES, traceRange, type RunSelector, type Shard, type TraceRange } from '../model/span-reads.ts';
import { Digest } from './stats.ts';

export interface Slice {
  /** `cutOff[shard index]`: rowids of that shard's roots cut off by the end of the run (cut-off.ts). */
  pair(run: RunSelector, cutOff: number[][], onProgress?: (roots: number) => void): Promise<PairResult>;
  background(windows: BackgroundWindow[]): Promise<BackgroundPart>;
  close(): Promise<void>;
}

/** One slice on this thread when `threads` is 1, else one worker thread per slice. */
/** Typed-array tables all threads together hold at once (bytes), about. */
export const TABLE_BUDGET_BYTES = 160 * 1024 * 1024;
/** Table bytes per root of a load test: the roots table, and about one server span per root. */
const BYTES_PER_ROOT = 64;

export async function openSlices(
  shards: Shard[],
  threads: number,
  expectedRoots: number,
  topN: number,
  budgetBytes = TABLE_BUDGET_BYTES,
): Promise<Slice[]> {
  // Ranges per thread, processed one after another, so a thread's tables fit the budget.
  // The budget is for the whole analysis: with more threads, each takes smaller ranges.
  const perThread = Math.min(Math.floor(256 / threads), Math.max(1, Math.ceil((expectedRoots * BYTES_PER_ROOT) / budgetBytes)));
  const ranges = threads * perThread;
  const rootsPerRange = Math.ceil(expectedRoots / ranges);
  const rangesOf = (k: number): TraceRange[] => Array.from({ length: perThread }, (_, j) => traceRange(k * perThread + j, ranges));
  if (threads <= 1) {
    const join = new TraceRangeJoin(shards, ranges === 1 ? [ALL_TRACES] : rangesOf(0), rootsPerRange);
    return [
      {
        pair: (run, cutOff, onProgress) => Promise.resolve(join.pair(run, cutOff, topN, onProgress)),
        background: (windows) => Promise.resolve(join.background(windows)),
        close: () => Promise.resolve(),
      },
    ];
  }
  const slices = Array.from({ length: threads }, (_, k) => {
    const job: JoinJob = {
      paths: shards.map((s) => s.path),
      ranges: rangesOf(k).map((r) => ({ lo: r.lo, hi: r.hi })),
      expectedRoots: rootsPerRange,
      topN,
    };
    return workerSlice(startTsWorker(new URL('./join-worker.ts', import.meta.url), job));
  });
  try {
    await Promise.all(slices.map((s) => s.ready));
  } catch (error) {
    await Promise.all(slices.map((s) => s.close()));
    throw error;
  }
  return slices;
}

type Reply =
  | { kind: 'ready' }
  | { kind: 'progress'; roots: number }
  | { kind: 'paired'; result: PairResult }
  | { kind: 'background'; part: BackgroundPart };

function workerSlice(worker: Worker): Slice & { ready: Promise<void> } {
  // One request at a time per worker: the orchestrator waits for each answer.
  let pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  let onProgress: ((roots: number) => void) | undefined;
  let failure: Error | undefined;
  let readyResolve: () => void = () => undefined;
  let readyReject: (e: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  const fail = (error: Error): void => {
    failure ??= error;
    readyReject(failure);
    pending?.reject(failure);
    pending = undefined;
  };
  worker.on('message', (m: Reply) => {
    if (m.kind === 'ready') readyResolve();
    else if (m.kind === 'progress') onProgress?.(m.roots);
    else {
      const p = pending;
      pending = undefined;
      p?.resolve(m);
    }
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', (code) => fail(new Error(`an analysis thread exited (code ${code}) before answering`)));
  const ask = (request: JoinRequest): Promise<Reply> => {
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage(request);
    });
  };
  return {
    ready,
    async pair(run, cutOff, progress) {
      onProgress = progress;
      const reply = await ask({ kind: 'pair', run, cutOff });
      return (reply as Extract<Reply, { kind: 'paired' }>).result;
    },
    async background(windows) {
      const reply = await ask({ kind: 'background', windows });
      const part = (reply as Extract<Reply, { kind: 'background' }>).part;
      return { ...part, digest: Digest.revive(part.digest) };
    },
    async close() {
      worker.postMessage({ kind: 'close' } satisfies JoinRequest);
      await new Promise<void>((resolve) => {
        if (failure !== undefined) resolve();
        else worker.once('exit', () => resolve());
      });
    },
  };
}
