// One test at a time, started, changed and stopped from the web page or Locust's web API. Each
// start is a new test with its own run id (the spans of two tests never mix), its own Runner and
// its own telemetry, flushed when the test stops so its report can be made at once. As in Locust,
// a start after a stop begins with empty stats, and a start while running only changes the user
// count and spawn rate.
import { RequestStats } from '../request-stats.ts';
import { Runner, type StopReason } from '../runner.ts';
import type { LoadedScript } from '../script-loader.ts';
import type { RunSummary } from '../stats-report.ts';
import type { TelemetryConfig } from '../telemetry-config.ts';
import type { Telemetry } from '../telemetry.ts';

/** Locust's runner states, as /stats/requests reports them. */
export type TestState = 'ready' | 'spawning' | 'running' | 'stopping' | 'stopped';

export interface TestControlOptions {
  script: LoadedScript;
  /** --host, the first test's host; the page may change it before each start. */
  host: string | undefined;
  /** The first test's run id; later tests get `ID-2`, `ID-3`… */
  runId: string;
  telemetryConfig: TelemetryConfig | undefined;
  version: string;
  serviceName: string;
  iterations: number | undefined;
  /** --stop-timeout: a stop lets running tasks finish for up to this long (as Locust's web UI). */
  stopTimeoutMs?: number;
  connectionPerRequest: boolean;
  rejectUnauthorized: boolean;
  /** Called once a second while a test runs, after the stats took their history row. */
  onTick: () => void;
  /** Called when the state changes (started, stopping, stopped, reset). */
  onChange: () => void;
  /** Called when a test has stopped and its spans are flushed. */
  onTestEnd: (summary: RunSummary) => void;
}

export interface SwarmRequest {
  users: number;
  spawnRate: number;
  host?: string;
  runTimeMs?: number;
}

export type SwarmResult = { success: true; message: string; host: string | undefined } | { success: false; message: string; host: string | undefined };

export class TestControl {
  readonly stats = new RequestStats();
  #o: TestControlOptions;
  #state: TestState = 'ready';
  #runner: Runner | undefined;
  #finished: Promise<void> = Promise.resolve();
  #tests = 0;
  host: string | undefined;
  runId: string;
  /** Unix ms. */
  startedAt: number | undefined;
  endedAt: number | undefined;
  stopReason: StopReason | undefined;
  /** The last finished test, for the final table and the downloads after a stop. */
  lastSummary: RunSummary | undefined;

  constructor(options: TestControlOptions) {
    this.#o = options;
    this.host = options.host;
    this.runId = options.runId;
  }

  get state(): TestState {
    if (this.#state === 'running' && this.#runner !== undefined && this.#runner.userCount < this.#runner.targetUsers) return 'spawning';
    return this.#state;
  }
  get userCount(): number {
    return this.#runner?.userCount ?? 0;
  }
  get running(): boolean {
    return this.#state === 'running';
  }

  /** Seconds since the current (or last) test started; 0 before the first. */
  elapsedSeconds(now = Date.now()): number {
    if (this.startedAt === undefined) return 0;
    return Math.max(((this.endedAt ?? now) - this.startedAt) / 1000, 1e-9);
  }

  async swarm(request: SwarmRequest): Promise<SwarmResult> {
    const { users, spawnRate } = request;
    if (!Number.isInteger(users) || users < 0 || !(spawnRate > 0) || !Number.isFinite(spawnRate)) {
      return { success: false, message: 'Missing or invalid user_count or spawn_rate: user_count must be an integer >= 0, spawn_rate a number > 0', host: this.host };
    }
    if (this.#state === 'running') {
      this.#runner?.retarget(users, spawnRate);
      this.#o.onChange();
      return { success: true, message: `Swarming changed to ${users} users at ${spawnRate}/s`, host: this.host };
    }
    if (this.#state === 'stopping') return { success: false, message: 'The previous test is still stopping; try again in a moment', host: this.host };
    const host = request.host !== undefined && request.host !== '' ? request.host : this.host;
    const missing = this.#o.script.userClasses.filter((c) => host === undefined && c.host === undefined);
    if (missing.length > 0) return { success: false, message: `No host: enter the target's base URL (http://… or https://…)`, host };
    if (host !== undefined && !/^https?:\/\/[^\s/]+/i.test(host)) return { success: false, message: `The host must be an http:// or https:// URL, got '${host}'`, host: this.host };
    this.host = host?.replace(/\/+$/, '');
    this.#tests += 1;
    if (this.#tests > 1) this.runId = `${this.#o.runId}-${this.#tests}`;
    this.stats.reset();
    let telemetry: Telemetry | undefined;
    if (this.#o.telemetryConfig !== undefined) {
      const { Telemetry } = await import('../telemetry.ts');
      const holder: { runner?: Runner } = {};
      telemetry = await Telemetry.create({
        config: this.#o.telemetryConfig,
        runId: this.runId,
        version: this.#o.version,
        activeUsers: () => holder.runner?.activeUsers() ?? new Map(),
      });
      this.#runner = this.#newRunner(users, spawnRate, request.runTimeMs, telemetry);
      holder.runner = this.#runner;
    } else {
      this.#runner = this.#newRunner(users, spawnRate, request.runTimeMs, undefined);
    }
    this.#state = 'running';
    this.startedAt = Date.now();
    this.endedAt = undefined;
    this.stopReason = undefined;
    const runner = this.#runner;
    this.#finished = runner.run().then((reason) => this.#ended(runner, reason, telemetry));
    this.#o.onChange();
    return { success: true, message: 'Swarming started', host: this.host };
  }

  #newRunner(users: number, spawnRate: number, runTimeMs: number | undefined, telemetry: Telemetry | undefined): Runner {
    const o = this.#o;
    return new Runner({
      script: o.script,
      host: this.host,
      users,
      spawnRate,
      runTimeMs,
      iterations: o.iterations,
      stopTimeoutMs: o.stopTimeoutMs,
      runId: this.runId,
      stats: this.stats,
      telemetry,
      // Stopping is the page's (or the command's) call through stop(), never a signal.
      signal: new AbortController().signal,
      connectionPerRequest: o.connectionPerRequest,
      rejectUnauthorized: o.rejectUnauthorized,
      onTick: () => o.onTick(),
    });
  }

  async #ended(runner: Runner, reason: StopReason, telemetry: Telemetry | undefined): Promise<void> {
    this.#state = 'stopping';
    this.#o.onChange();
    const report = telemetry === undefined ? undefined : await telemetry.shutdown();
    this.endedAt = Date.now();
    this.stopReason = reason;
    this.#state = 'stopped';
    const summary: RunSummary = {
      runId: this.runId,
      service: this.#o.serviceName,
      startedAt: new Date(this.startedAt ?? this.endedAt),
      endedAt: new Date(this.endedAt),
      stopReason: reason,
      peakUsers: runner.peakUsers,
      stats: this.stats,
    };
    if (report !== undefined) summary.telemetry = report;
    this.lastSummary = summary;
    this.#o.onChange();
    this.#o.onTestEnd(summary);
  }

  /** Stop the running test (users run onStop, spans are flushed); resolves when it has stopped. */
  async stop(): Promise<void> {
    if (this.#state === 'running') this.#runner?.stop('web-ui');
    await this.#finished;
  }

  /** Waits for the current test to end by itself (run time, iterations, shape). */
  whenStopped(): Promise<void> {
    return this.#finished;
  }

  resetStats(): void {
    this.stats.reset();
    // Locust restarts the clock of total_rps with the stats.
    if (this.#state === 'running') this.startedAt = Date.now();
    this.#o.onChange();
  }
}
