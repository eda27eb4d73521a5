// Runs virtual users: spawns them at the spawn rate (or as the load shape says), loops each
// through its weighted random tasks with its wait time, and stops them when the run time is up,
// the iteration cap is reached, the shape returns null, or the run is interrupted.
// It only measures; the command renders.
import { HttpSession, UserStopped, type RequestObserver } from './http-session.ts';
import type { LoadedScript, LoadedUserClass, ScriptTask } from './script-loader.ts';
import type { RequestStats, HistoryRow } from './request-stats.ts';
import type { Telemetry } from './telemetry.ts';
import type { LoadTestShape } from './user-model.ts';
import { share } from './run-options.ts';

export interface RunnerOptions {
  script: LoadedScript;
  /** --host; overrides each class's own host. */
  host: string | undefined;
  users: number;
  spawnRate: number;
  runTimeMs: number | undefined;
  /** Stop after this many task iterations in total. */
  iterations: number | undefined;
  /** Locust's --stop-timeout: how long running tasks may go on after the stop before their
   *  requests are cut off (0 or absent: at once). */
  stopTimeoutMs?: number;
  runId: string;
  stats: RequestStats;
  telemetry: Telemetry | undefined;
  signal: AbortSignal;
  /** Worker I of N numbers its users I, I+N, I+2N…: ids stay unique across the workers of one
   *  run id however many users each one starts and replaces (a load shape can respawn). */
  userIdBase?: number;
  userIdStride?: number;
  /** This generator's share of a load shape's users and spawn rate (worker I of N runs share I). */
  shapeShare?: { index: number; count: number };
  connectionPerRequest?: boolean;
  rejectUnauthorized?: boolean;
  /** Called every second with the new history row. */
  onTick?: (row: HistoryRow, elapsedS: number, users: number) => void;
}

/** How long a stopped user's onStop may take before its requests are aborted. */
const ON_STOP_TIMEOUT_MS = 10_000;

export type StopReason = 'run-time' | 'iterations' | 'shape' | 'interrupted' | 'no-users' | 'web-ui';

interface UserSlot {
  id: number;
  cls: LoadedUserClass;
  /** Cuts off the user's requests in flight. */
  abort: AbortController;
  /** Set when the user is stopped: it starts no new task (its running one may end first). */
  leaving: boolean;
  /** Ends the user's wait between tasks, while it waits. */
  wake: (() => void) | undefined;
}

/** Resolves when `done` settles or `ms` pass or `signal` aborts, whichever comes first. */
function within(done: Promise<unknown>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
    void done.then(finish, finish);
    function finish(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    }
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function pickTask(tasks: ScriptTask[], totalWeight: number): ScriptTask {
  let r = Math.random() * totalWeight;
  for (const t of tasks) {
    r -= t.weight;
    if (r < 0) return t;
  }
  return tasks[tasks.length - 1] as ScriptTask;
}

function isStop(error: unknown, signal: AbortSignal): boolean {
  return error instanceof UserStopped || (signal.aborted && error instanceof Error && error.name === 'AbortError');
}

export class Runner {
  readonly #o: RunnerOptions;
  readonly #users: UserSlot[] = [];
  /** Every user not yet finished, including those a shape retired: the run waits for them all,
   *  so a retired user's cut-off requests and onStop are done before telemetry shuts down. */
  readonly #running = new Set<Promise<void>>();
  readonly #classCounts = new Map<string, number>();
  #nextId: number;
  readonly #idStride: number;
  #target = 0;
  #rate = 1;
  #stopping = false;
  #stopReason: StopReason | undefined;
  #stopResolve: (() => void) | undefined;
  #iterationsStarted = 0;
  #iterationsDone = 0;
  peakUsers = 0;
  startedAt = 0;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.#nextId = options.userIdBase ?? 0;
    this.#idStride = Math.max(1, options.userIdStride ?? 1);
    for (const c of options.script.userClasses) this.#classCounts.set(c.name, 0);
  }

  /** Active users per class (for the users gauge). */
  activeUsers(): Map<string, number> {
    return new Map(this.#classCounts);
  }
  get userCount(): number {
    return this.#users.length;
  }

  async run(): Promise<StopReason> {
    const o = this.#o;
    this.startedAt = performance.now();
    const stopped = new Promise<void>((resolve) => (this.#stopResolve = resolve));
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => this.stop('interrupted');
    o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.signal.aborted) this.stop('interrupted');
    if (o.runTimeMs !== undefined) timers.push(setTimeout(() => this.stop('run-time'), o.runTimeMs));

    let shape: LoadTestShape | undefined;
    if (o.script.shape !== undefined) {
      shape = new o.script.shape();
      shape.startedAt = this.startedAt;
      this.#applyShape(shape);
    } else {
      this.#target = o.users;
      this.#rate = o.spawnRate;
    }
    if (this.#target === 0 && shape === undefined) this.stop('no-users');
    // A generator whose share of the iteration cap is 0 (-i 1 over two processes) has nothing to do.
    if (o.iterations === 0) this.stop('iterations');

    const spawner = this.#spawnLoop();
    const ticker = setInterval(() => {
      const elapsed = (performance.now() - this.startedAt) / 1000;
      const row = o.stats.tick(this.#users.length, Date.now() / 1000);
      o.onTick?.(row, elapsed, this.#users.length);
      if (shape !== undefined && !this.#stopping) this.#applyShape(shape);
    }, 1000);
    timers.push(ticker);

    await stopped;
    for (const t of timers) clearInterval(t);
    o.signal.removeEventListener('abort', onAbort);
    await spawner;
    // A hard stop cuts off requests in flight (each still gets its span) once --stop-timeout has
    // let running tasks finish; an iteration cap lets them finish anyway. A stopped user starts
    // no new task: its loop checks #stopping. Ctrl-C during the wait after another stop ends it;
    // after a stop by Ctrl-C only a second one does (and that one leaves at once: bin/).
    if (this.#stopReason !== 'iterations') {
      const stopTimeoutMs = o.stopTimeoutMs ?? 0;
      const hurry = this.#stopReason === 'interrupted' ? new AbortController().signal : o.signal;
      if (stopTimeoutMs > 0 && this.#running.size > 0) await within(Promise.all(this.#running), stopTimeoutMs, hurry);
      for (const u of this.#users) u.abort.abort();
    }
    await Promise.all(this.#running);
    // One last history row, so the CSV history ends with the final totals.
    o.stats.tick(0, Date.now() / 1000);
    return this.#stopReason ?? 'interrupted';
  }

  stop(reason: StopReason): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stopReason = reason;
    this.#spawnerWake.abort();
    for (const wake of [...this.#sleepers]) wake();
    this.#stopResolve?.();
  }

  /** New user count and spawn rate for a running test (the web UI's swarm while running, as in
   *  Locust): the spawner starts or stops users towards it at once. A load shape keeps control. */
  retarget(users: number, spawnRate: number): void {
    if (this.#o.script.shape !== undefined || this.#stopping) return;
    this.#target = users;
    this.#rate = spawnRate;
    this.#spawnerWake.abort();
  }

  /** The user count the spawner is working towards. */
  get targetUsers(): number {
    return this.#target;
  }

  #applyShape(shape: LoadTestShape): void {
    let tick: ReturnType<LoadTestShape['tick']>;
    try {
      tick = shape.tick();
    } catch (error) {
      this.#o.stats.recordException(error);
      this.stop('shape');
      return;
    }
    if (tick === null || tick === undefined) {
      this.stop('shape');
      return;
    }
    const [users, rate] = Array.isArray(tick) ? tick : [tick.users, tick.spawnRate];
    // The shape speaks for the whole run: split between the generators as -u and -r are.
    const { index, count } = this.#o.shapeShare ?? { index: 0, count: 1 };
    const target = share(Math.max(0, Math.floor(users)), index, count);
    const newRate = rate > 0 ? rate / count : 1 / count;
    if (target !== this.#target || newRate !== this.#rate) {
      this.#target = target;
      this.#rate = newRate;
      this.#spawnerWake.abort();
    }
  }

  /** Bring the user count towards the target at the spawn rate, until the run stops. */
  async #spawnLoop(): Promise<void> {
    const step = (): number => Math.max(10, Math.min(1000, 1000 / this.#rate));
    let budget = 1; // the first user starts at once, as in Locust
    let last = performance.now();
    while (!this.#stopping) {
      const now = performance.now();
      budget = Math.min(budget + ((now - last) / 1000) * this.#rate, Math.max(1, this.#rate));
      last = now;
      // Once every capped iteration has started, a user that leaves is not replaced.
      while (!this.#stopping && budget >= 1 && this.#users.length < this.#target && !this.#iterationsAllStarted()) {
        budget -= 1;
        this.#spawn();
      }
      while (this.#users.length > this.#target) {
        // Stop the most recently started users first (Locust does the same), after --stop-timeout.
        const u = this.#users[this.#users.length - 1] as UserSlot;
        this.#retire(u);
        this.#dismiss(u, this.#o.stopTimeoutMs ?? 0);
      }
      if (this.#users.length >= this.#target) budget = Math.min(budget, 1);
      // At the target there is nothing to do until the shape changes it, which wakes the spawner
      // (a change waiting for the end of this sleep would apply up to a second late).
      this.#spawnerWake = new AbortController();
      await sleep(this.#users.length === this.#target ? 1000 : step(), this.#spawnerWake.signal);
    }
  }

  /** Stop one user: it starts no new task, and what it still has in flight after `graceMs` is cut off. */
  #dismiss(slot: UserSlot, graceMs: number): void {
    slot.leaving = true;
    slot.wake?.();
    if (graceMs <= 0) slot.abort.abort();
    // Unref'd: a user that finished long before has nothing left to cut off.
    else setTimeout(() => slot.abort.abort(), graceMs).unref();
  }

  #iterationsAllStarted(): boolean {
    return this.#o.iterations !== undefined && this.#iterationsStarted >= this.#o.iterations;
  }

  /** Aborted when a load shape changes the target or the rate, or the run stops: wakes the
   *  spawner at once. */
  #spawnerWake = new AbortController();

  /** Wake-up calls of users sleeping between tasks (cheaper per user than AbortSignal.any). */
  readonly #sleepers = new Set<() => void>();

  /** Sleep between tasks; the user's own stop (#dismiss) or the end of the run wakes it. */
  #sleepUntilStop(ms: number, slot: UserSlot): Promise<void> {
    if (this.#stopping || slot.leaving) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        slot.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
      slot.wake = wake;
    });
  }

  #chooseClass(): LoadedUserClass {
    // Largest deficit against the weights: deterministic and exact for small counts.
    const classes = this.#o.script.userClasses.filter((c) => c.weight > 0);
    const totalWeight = classes.reduce((s, c) => s + c.weight, 0);
    const n = this.#users.length + 1;
    let best = classes[0] as LoadedUserClass;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    for (const c of classes) {
      const deficit = (n * c.weight) / totalWeight - (this.#classCounts.get(c.name) ?? 0);
      if (deficit > bestDeficit) {
        best = c;
        bestDeficit = deficit;
      }
    }
    return best;
  }

  #spawn(): void {
    const cls = this.#chooseClass();
    const slot: UserSlot = { id: this.#nextId, cls, abort: new AbortController(), leaving: false, wake: undefined };
    this.#nextId += this.#idStride;
    this.#users.push(slot);
    this.#classCounts.set(cls.name, (this.#classCounts.get(cls.name) ?? 0) + 1);
    this.peakUsers = Math.max(this.peakUsers, this.#users.length);
    const done = this.#runUser(slot).finally(() => {
      this.#retire(slot);
      this.#running.delete(done);
    });
    this.#running.add(done);
  }

  #retire(slot: UserSlot): void {
    const i = this.#users.indexOf(slot);
    if (i < 0) return;
    this.#users.splice(i, 1);
    this.#classCounts.set(slot.cls.name, (this.#classCounts.get(slot.cls.name) ?? 1) - 1);
  }

  #observer(userClass: string): RequestObserver {
    const { stats, telemetry } = this.#o;
    return {
      begin() {
        const traced = telemetry?.begin();
        return {
          headers: traced?.headers,
          finish(outcome) {
            // A request the stop cut off is counted apart (Locust leaves it out of the stats).
            if (outcome.cutOff === true) stats.cutOff += 1;
            else stats.record(outcome.method, outcome.name, outcome.end - outcome.start, outcome.contentLength, outcome.failure);
            if (traced !== undefined) telemetry?.finish(traced, userClass, outcome);
          },
        };
      },
    };
  }

  async #runUser(slot: UserSlot): Promise<void> {
    const o = this.#o;
    const signal = slot.abort.signal;
    const host = o.host ?? slot.cls.host;
    if (host === undefined) throw new Error('no host'); // checked by the command before the run
    const user = slot.cls.create();
    user.context = { userId: slot.id, userClass: slot.cls.name, runId: o.runId, host };
    user.client = new HttpSession({
      baseUrl: host,
      observer: this.#observer(slot.cls.name),
      connectionPerRequest: o.connectionPerRequest ?? false,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    });
    // Stopping a user cuts off its in-flight requests (each ends as a span marked cut off, out of
    // the stats) and closes its connections.
    const abortRequests = (): void => user.client.abort();
    signal.addEventListener('abort', abortRequests, { once: true });
    const totalWeight = slot.cls.tasks.reduce((s, t) => s + t.weight, 0);
    const fail = (name: string, started: number, error: unknown): void => {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      o.stats.record('TASK', name, performance.now() - started, 0, message);
      o.stats.recordException(error);
    };
    try {
      const started = performance.now();
      try {
        await user.onStart();
      } catch (error) {
        if (isStop(error, signal)) return;
        fail('onStart', started, error);
      }
      user.client.settlePending();
      while (!slot.leaving && !this.#stopping) {
        if (o.iterations !== undefined) {
          if (this.#iterationsStarted >= o.iterations) break;
          this.#iterationsStarted += 1;
        }
        const task = pickTask(slot.cls.tasks, totalWeight);
        const taskStartedAt = performance.now();
        try {
          await task.fn.call(user);
        } catch (error) {
          if (isStop(error, signal)) break;
          fail(task.name, taskStartedAt, error);
        }
        user.client.settlePending();
        const taskEndedAt = performance.now();
        this.#iterationsDone += 1;
        if (o.iterations !== undefined && this.#iterationsDone >= o.iterations) {
          this.stop('iterations');
          break;
        }
        let wait = 0;
        try {
          wait = user.waitTime({ taskStartedAt, taskEndedAt });
        } catch (error) {
          fail('waitTime', taskEndedAt, error);
        }
        if (wait > 0) await this.#sleepUntilStop(wait * 1000, slot);
        if (this.#stopping) break;
      }
      // As in Locust, a stopped user still runs onStop (log out, say), with its own time bound; a
      // stop that arrives now must not cut it short.
      signal.removeEventListener('abort', abortRequests);
      const stoppingAt = performance.now();
      const bound = setTimeout(() => user.client.abort(), ON_STOP_TIMEOUT_MS);
      try {
        await user.onStop();
      } catch (error) {
        if (!(error instanceof UserStopped)) fail('onStop', stoppingAt, error);
      } finally {
        clearTimeout(bound);
      }
      user.client.settlePending();
    } finally {
      await user.client.close();
    }
  }
}
