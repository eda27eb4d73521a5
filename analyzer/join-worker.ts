// Worker thread: one slice of the trace-id space of an analysis (join-pairs.ts). It opens the
// shards, then answers the orchestrator's requests — pair a
// run, count a run's background traffic — with mergeable state, until told to close.
import { parentPort, workerData } from 'node:worker_threads';
import { TraceRangeJoin, type BackgroundWindow } from './join-pairs.ts';
import { closeShards, openShards, type RunSelector } from '../model/span-reads.ts';

export interface JoinJob {
  paths: string[];
  /** The slice's ranges, [lo, hi) as bytes (Buffers arrive as Uint8Arrays), taken one after another. */
  ranges: Array<{ lo: Uint8Array; hi: Uint8Array }>;
  expectedRoots: number;
  topN: number;
}

export type JoinRequest = { kind: 'pair'; run: RunSelector; cutOff: number[][] } | { kind: 'background'; windows: BackgroundWindow[] } | { kind: 'close' };

const job = (workerData as { job: JoinJob }).job;
const port = parentPort;
if (port === null) throw new Error('join-worker.ts runs as a worker thread');
const shards = openShards(job.paths);
const ranges = job.ranges.map((r) => ({ lo: Buffer.from(r.lo), hi: Buffer.from(r.hi) }));
const join = new TraceRangeJoin(shards, ranges, job.expectedRoots);
port.postMessage({ kind: 'ready' });
port.on('message', (m: JoinRequest) => {
  if (m.kind === 'pair') {
    port.postMessage({ kind: 'paired', result: join.pair(m.run, m.cutOff, job.topN, (roots) => port.postMessage({ kind: 'progress', roots })) });
  } else if (m.kind === 'background') {
    port.postMessage({ kind: 'background', part: join.background(m.windows) });
  } else {
    closeShards(shards);
    port.close();
  }
});
