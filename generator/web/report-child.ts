// The analyzer's HTML report for a test the page ran, made by `firstspan analyze` as a child
// process: the generator never imports the analyzer (the stages meet only over OTLP and SQLite).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/firstspan.js', import.meta.url));
// The child runs on the same Node as this process (process.execPath is a constant, not I/O).
const NODE = process.execPath;

export interface ReportResult {
  ok: boolean;
  /** The analyzer's exit code and the tail of its stderr, for the page when it failed. */
  code: number | null;
  message: string;
}

/** Run `firstspan analyze --db DB --run-id ID --format html --out OUT`. Threshold or coverage
 *  breaches are no reason to hide the report; only a missing file is a failure. */
export function makeReport(db: string, runId: string, out: string, env: Record<string, string | undefined>): Promise<ReportResult> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [BIN, 'analyze', '--db', db, '--run-id', runId, '--format', 'html', '--out', out], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', (error) => resolve({ ok: false, code: null, message: error.message }));
    child.on('close', (code) => resolve({ ok: code === 0 || code === 99, code, message: stderr.trim() }));
  });
}
