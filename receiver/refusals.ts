// Every request the receiver refuses (any answer but success, on either listener), counted by kind
// for the shutdown summary, and logged so that a sender that is being turned away is visible while
// it happens: the first refusal of each kind is logged at once with its reason and the client's
// address, later ones of the same kind at most once per interval, saying how many were not logged.
// The senders that matter here (SDK exporters, the Collector) drop a batch on a permanent error
// without telling the receiver's operator; these lines are the only trace it leaves.

/** How a refusal is told apart: the transport and the status sent. */
export interface Refusal {
  transport: 'HTTP' | 'gRPC';
  /** HTTP status (415) or gRPC status name (UNAVAILABLE). */
  status: string;
  /** The receiver's reason code (FS_ERR_OTLP_*) when it has one. */
  reason?: string;
  message: string;
  /** host:port of the client, as the socket says. */
  client: string;
}

export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 10_000;

interface KindState {
  count: number;
  loggedAt: number;
  notLogged: number;
}

export class RefusalLog {
  private readonly kinds = new Map<string, KindState>();
  private readonly log: ((line: string) => void) | undefined;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(options: { log?: (line: string) => void; intervalMs?: number; now?: () => number } = {}) {
    this.log = options.log;
    this.intervalMs = options.intervalMs ?? DEFAULT_REFUSAL_LOG_INTERVAL_MS;
    this.now = options.now ?? (() => performance.now());
  }

  record(refusal: Refusal): void {
    const kind = kindOf(refusal);
    const now = this.now();
    let state = this.kinds.get(kind);
    if (state === undefined) {
      state = { count: 0, loggedAt: -Infinity, notLogged: 0 };
      this.kinds.set(kind, state);
    }
    state.count += 1;
    if (this.log === undefined) return;
    if (now - state.loggedAt < this.intervalMs) {
      state.notLogged += 1;
      return;
    }
    const first = state.count === 1;
    const skipped = state.notLogged > 0 ? ` (${state.notLogged} more ${kind} refusals since the last such line)` : '';
    const later = first ? ` (further ${kind} refusals are logged at most once every ${Math.round(this.intervalMs / 1000)} s)` : '';
    this.log(`firstspan receiver: refused a request from ${refusal.client} with ${kind}: ${refusal.message}${skipped}${later}`);
    state.loggedAt = now;
    state.notLogged = 0;
  }

  /** Refused requests by kind, most frequent first. */
  counts(): { kind: string; count: number }[] {
    return [...this.kinds.entries()].map(([kind, s]) => ({ kind, count: s.count })).sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  }

  get total(): number {
    let n = 0;
    for (const s of this.kinds.values()) n += s.count;
    return n;
  }

  /** "0 refused requests" or "9 refused requests (7 × HTTP 415 FS_ERR_OTLP_MEDIA_TYPE, 2 × gRPC UNAUTHENTICATED)". */
  summary(): string {
    const total = this.total;
    const noun = total === 1 ? 'refused request' : 'refused requests';
    if (total === 0) return `0 ${noun}`;
    return `${total} ${noun} (${this.counts().map((c) => `${c.count} × ${c.kind}`).join(', ')})`;
  }
}

function kindOf(r: Refusal): string {
  return r.reason === undefined ? `${r.transport} ${r.status}` : `${r.transport} ${r.status} ${r.reason}`;
}
