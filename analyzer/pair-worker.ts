// Worker thread: pair one slice of a run (one shard, a range of root start times) and send back
// the accumulator's mergeable state. Large runs are split across the machine's cores this way;
// the digests, offset heaps and timeline merge exactly as shards do.
import { parentPort, workerData } from 'node:worker_threads';
import { RunAccumulator } from './pair-spans.ts';
import { closeShards, feedPairs, openShards, readResourceServices, type RunSelector } from './read-spans.ts';

export interface PairJob {
  paths: string[];
  shardIndex: number;
  selector: RunSelector;
  topN: number;
  /** Rowids of the shard's roots cut off by the end of the run (cut-off.ts). */
  cutOff: number[];
}

const job = (workerData as { job: PairJob }).job;
const shards = openShards(job.paths);
try {
  const shard = shards[job.shardIndex];
  if (shard === undefined) throw new Error(`no shard ${job.shardIndex}`);
  const acc = new RunAccumulator(job.topN);
  acc.startShard(readResourceServices(shard), job.shardIndex, (roots) => parentPort?.postMessage({ progress: roots }), new Set(job.cutOff));
  feedPairs(shard, job.selector, acc.row);
  acc.endShard();
  parentPort?.postMessage(acc.snapshot());
} finally {
  closeShards(shards);
}
