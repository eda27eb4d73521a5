// Synthetic runs with one known cause each, for the findings and the baseline comparison: 40 s,
// 10 requests a second, a server 3 s ahead of the generator, the generator's active-users gauge
// once a second. Each scenario changes one thing of a clean run and returns the truth it built in.
import { SpanStore } from '../../model/store.ts';
import { TraceBuilder, usersMetric, type Phases } from './analyzer-traces.ts';

export const SECONDS = 40;
export const PER_SECOND = 10;

export interface RequestShape {
  endpoint: string;
  phases: Phases;
  beforeMs: number;
  serverMs: number;
  /** No server child (the trace was not continued). */
  unmatched?: boolean;
  /** Server clock minus generator clock for this request, ms. */
  offsetMs?: number;
}

export interface ScenarioSpec {
  runId?: string;
  /** Active users in second s. */
  users: (s: number) => number;
  /** The request number i (0..) of second s. */
  request: (s: number, i: number, users: number) => RequestShape;
  /** Seed for the ids (two runs in one database need different ones). */
  seed?: number;
}

/** A small deterministic jitter in [-0.5, 0.5) from two integers (no Math.random in tests). */
export function jitter(a: number, b: number): number {
  const x = Math.sin(a * 12.9898 + b * 78.233) * 43758.5453;
  return x - Math.floor(x) - 0.5;
}

export function phasesFor(o: { blocked?: number; connect?: number; sending?: number; waiting: number }): Phases {
  return { blocked: o.blocked ?? 0.2, dns: 0, connect: o.connect ?? 0, tls: 0, sending: o.sending ?? 0.1, waiting: o.waiting, receiving: 0.5 };
}

/**
 * A request of the clean run: reused connection, 2 ms (±0.3) each way between client and server,
 * 10–14 ms on the server. Both legs get the same jitter, so the NTP-style offset estimate is exact
 * and the truth of each gap part is what is built here.
 */
export function cleanRequest(s: number, i: number, endpoint = i % 2 === 0 ? '/a' : '/b', draw = 0): RequestShape {
  // `draw` picks another sample of the same distributions (another run of the same system).
  const leg = 2 + 0.6 * jitter(s + 1000 * draw, i);
  const serverMs = 12 + 4 * jitter(i + 77 * draw, s);
  return { endpoint, beforeMs: leg, serverMs, phases: phasesFor({ waiting: 2 * leg + serverMs }) };
}

/** Mean gap of a clean request: pool 0.2 + sending 0.1 + 2 + 2 + download 0.5 (the jitter averages out). */
export const CLEAN_GAP_MS = 4.8;
const leg = (r: RequestShape): number => (r.phases.waiting - r.serverMs) / 2;

export function writeRun(path: string, spec: ScenarioSpec): void {
  const store = SpanStore.open(path);
  const b = new TraceBuilder(spec.seed ?? 1);
  const runId = spec.runId ?? 'run-1';
  for (let s = 0; s < SECONDS; s++) {
    const users = spec.users(s);
    for (let i = 0; i < PER_SECOND; i++) {
      const r = spec.request(s, i, users);
      const root = b.root({ runId, startMs: s * 1000 + i * (1000 / PER_SECOND), requestName: r.endpoint, phases: r.phases, connectionReused: r.phases.connect === 0 });
      if (r.unmatched !== true) b.server(root, { beforeMs: r.beforeMs, durationMs: r.serverMs, offsetMs: r.offsetMs ?? 3000, service: 'shop' });
    }
  }
  store.insertTraces(b.take());
  // One point a second, 1 ms into it, so second s of the run reports users(s).
  store.insertMetrics(usersMetric({ runId, points: Array.from({ length: SECONDS }, (_, s) => ({ atMs: s * 1000 + 1, users: spec.users(s) })) }));
  store.close();
}

export const ramp = (s: number): number => s + 1;
export const steady = (): number => 20;

export const QUEUE = { kneeUsers: 20, slopeMsPerUser: 3, baseMs: 2 } as const;
export const STARVED = { kneeUsers: 10, poolSlope: 1.5, sendSlope: 0.5, baseMs: 0.3 } as const;
export const CHURN = { connectMs: 30, openedShare: 0.4 } as const;
export const BREAK = { endpoint: '/b', sinceS: 20 } as const;
export const DRIFT = { msPerSecond: 0.5 } as const;
export const SLOWER = { endpoint: '/a', beforeMs: 20 } as const;
export const TAIL = { endpoint: '/a', serverMs: 80 } as const;

export const scenarios: Record<string, ScenarioSpec> = {
  clean: { users: ramp, request: (s, i) => cleanRequest(s, i) },
  queue: {
    users: ramp,
    request: (s, i, users) => {
      const r = cleanRequest(s, i);
      const beforeMs = r.beforeMs + QUEUE.slopeMsPerUser * Math.max(0, users - QUEUE.kneeUsers);
      return { ...r, beforeMs, phases: phasesFor({ waiting: beforeMs + r.serverMs + leg(r) }) };
    },
  },
  starved: {
    users: ramp,
    request: (s, i, users) => {
      const r = cleanRequest(s, i);
      const over = Math.max(0, users - STARVED.kneeUsers);
      return { ...r, phases: phasesFor({ blocked: 0.2 + STARVED.poolSlope * over, sending: 0.1 + STARVED.sendSlope * over, waiting: r.phases.waiting }) };
    },
  },
  churn: {
    users: steady,
    request: (s, i) => {
      const r = cleanRequest(s, i, i % 2 === 0 ? '/authenticate' : '/a');
      // 2 of every 5 /authenticate requests open a connection.
      const opens = r.endpoint === '/authenticate' && ((s * PER_SECOND + i) / 2) % 5 < 2;
      return opens ? { ...r, phases: { ...r.phases, connect: CHURN.connectMs } } : r;
    },
  },
  broken: {
    users: steady,
    request: (s, i) => {
      const r = cleanRequest(s, i);
      return r.endpoint === BREAK.endpoint && s >= BREAK.sinceS ? { ...r, unmatched: true } : r;
    },
  },
  serverTail: {
    users: steady,
    request: (s, i) => {
      const r = cleanRequest(s, i);
      // 7 of the 200 /a requests take 80 ms on the server.
      if (r.endpoint !== TAIL.endpoint || ((s * PER_SECOND + i) / 2) % 33 !== 0) return r;
      return { ...r, serverMs: TAIL.serverMs, phases: phasesFor({ waiting: 2 * leg(r) + TAIL.serverMs }) };
    },
  },
  // Run-versus-baseline pairs: another draw of the clean run, and one with 20 ms more before the server on /a.
  sameAgain: { runId: 'same', seed: 2, users: ramp, request: (s, i) => cleanRequest(s, i, undefined, 1) },
  slowerA: {
    runId: 'slower',
    seed: 3,
    users: ramp,
    request: (s, i) => {
      const r = cleanRequest(s, i, undefined, 2);
      if (r.endpoint !== '/a') return r;
      const beforeMs = r.beforeMs + SLOWER.beforeMs;
      return { ...r, beforeMs, phases: phasesFor({ waiting: beforeMs + r.serverMs + leg(r) }) };
    },
  },
  drift: { users: ramp, request: (s, i) => ({ ...cleanRequest(s, i), offsetMs: 3000 + DRIFT.msPerSecond * (s + i / PER_SECOND) }) },
};
