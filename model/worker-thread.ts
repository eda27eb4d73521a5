// Start a worker thread whose entry module is TypeScript. Worker threads do not inherit the
// loader that runs this project's .ts sources (tsx), so a small CommonJS boot registers tsx in the
// thread before it imports the entry. Both are resolved from this file, so it works from any
// working directory.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => { (api.register ?? api.default.register)(); return import(workerData.entry); });
`;

/**
 * A worker running `entry` (a file: URL of a .ts module), with `data` as `workerData.job`, and
 * optionally V8 heap limits of its own (a thread that keeps little alive needs no large young generation).
 */
export function startTsWorker(entry: URL, data: unknown, resourceLimits?: ResourceLimits): Worker {
  return new Worker(WORKER_BOOT, {
    eval: true,
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
    workerData: {
      job: data,
      // The ESM build of tsx's API (require.resolve finds the CommonJS one, which cannot register here).
      tsx: pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href,
      entry: entry.href,
    },
  });
}
