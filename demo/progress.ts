// The demo's progress line: elapsed of total, users, spans stored so far, connections the proxy
// delayed. On a terminal it rewrites one line in place every second; elsewhere (CI logs, pipes) it
// prints a plain line every five seconds so logs stay readable.
import type { Writable } from 'node:stream';

export interface ProgressSnapshot {
  elapsedMs: number;
  runTimeMs: number;
  users: number;
  spans: number;
  connections: number;
}

export function formatProgress(s: ProgressSnapshot): string {
  // Capped at the run time: the last second or so is start-up and flushing, not load.
  const elapsed = Math.min(s.elapsedMs, s.runTimeMs) / 1000;
  const done = Math.min(1, s.elapsedMs / s.runTimeMs);
  const width = 20;
  const filled = Math.round(done * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  return (
    `[${bar}] ${elapsed.toFixed(0).padStart(3)}s/${(s.runTimeMs / 1000).toFixed(0)}s` +
    `  users ${s.users}  spans stored ${s.spans.toLocaleString('en-US')}  new connections ${s.connections}`
  );
}

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = 0;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly snapshot: () => ProgressSnapshot,
  ) {
    this.tty = out.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  /** Print a line from elsewhere (the generator's warnings) without tearing the progress line. */
  log(line: string): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
    this.drawn = false;
  }

  private draw(): void {
    const text = formatProgress(this.snapshot());
    if (this.tty) {
      this.out.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else if (Date.now() - this.lastPlain >= 5000) {
      this.lastPlain = Date.now();
      this.out.write(`${text}\n`);
    }
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    if (this.tty) this.out.write('\n');
  }
}
