#!/usr/bin/env node
// The only file that touches `process`: everything else is `main(argv, io)` returning an exit code.
// tsx lets the TypeScript sources (and users' .ts scripts) run as they are, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    signals += 1;
    // A second Ctrl-C means "now": leave without waiting for a graceful flush.
    if (signals > 1) process.exit(130);
    controller.abort(signal);
  });
}
const code = await main(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
  cwd: process.cwd(),
});
process.exitCode = code;
// Give stdout a chance to drain, then leave even if a stray handle (a keep-alive socket) remains.
setTimeout(() => process.exit(code), 50).unref();
