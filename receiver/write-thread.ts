// The database writer thread: owns the receiver's SQLite connection. Whenever it is free it takes
// every write request waiting on its port and commits them in one transaction (group commit),
// then answers each after COMMIT. It sees only rows ready to bind (model/span-rows.ts), so all
// decoding and JSON encoding stays on the thread that reads requests.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { transferables } from '../model/span-rows.ts';
import { SpanStore, type WriteJob } from '../model/store.ts';
import type { WriterReply, WriterRequest } from './store-writer.ts';

const { path } = (workerData as { job: { path: string } }).job;
const port = parentPort;
if (port === null) throw new Error('write-thread.ts runs as a worker thread');
// Appends touch only the right-most pages of the table and of its time-leading indexes: half the
// default writer cache holds them, and the other half stays out of the receiver's resident memory.
const store = SpanStore.open(path, { cacheKiB: 16 * 1024 });
const reply = (r: WriterReply, transfer: ArrayBuffer[] = []): void => port.postMessage(r, transfer);

port.on('message', (first: WriterRequest) => {
  const writes: Array<Extract<WriterRequest, { kind: 'write' }>> = [];
  let close = false;
  for (let m: WriterRequest | undefined = first; m !== undefined; m = (receiveMessageOnPort(port)?.message as WriterRequest | undefined)) {
    if (m.kind === 'close') {
      close = true;
      break;
    }
    writes.push(m);
  }
  if (writes.length > 0) commit(writes);
  if (close) {
    store.close();
    reply({ kind: 'closed' });
    port.close();
  }
});

function commit(writes: Array<Extract<WriterRequest, { kind: 'write' }>>): void {
  const jobs: WriteJob[] = writes.flatMap((w) => w.jobs);
  try {
    const results = store.writeBatch(jobs, writes[0]!.receivedAtMs);
    let at = 0;
    for (const w of writes) {
      // The rows' buffers go back with the answer, for the next requests' rows (model/buffer-pool.ts).
      const buffers = w.jobs.flatMap((j) => (j.spans === undefined ? [] : transferables(j.spans)));
      reply({ kind: 'done', seq: w.seq, results: results.slice(at, at + w.jobs.length), buffers }, buffers);
      at += w.jobs.length;
    }
  } catch (error) {
    for (const w of writes) reply({ kind: 'failed', seq: w.seq, message: (error as Error).message });
  }
}
