// Requests in flight when a run stops: through the real binary, against a real target that records
// every `traceparent` it receives and holds some requests without answering, exporting to the real
// receiver. Whatever stops the run (run time, Ctrl-C, SIGTERM to --processes workers), every
// traceparent the target saw has its CLIENT span in the receiver's SQLite store; the ones the stop
// cut off are marked, kept out of the stats and counted apart. --stop-timeout lets a held request
// finish first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attr, CUT_OFF_ERROR_TYPE } from '../model/attributes.ts';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.ts';
import { clientSpansOfRun, type Stack, startStack, type StoredSpan, type Summary, writeScript } from './helpers/generator-harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

/** Each task: a quick request, then one the target holds: `hang=1` never answers, `delay=MS` answers late. */
function holdingScript(name: string, prefix: string, hold: string, more = ''): string {
  return writeScript(
    stack.dir,
    name,
    `import { HttpUser, LoadTestShape, task, constant } from 'firstspan';
     ${more}
     export class Holder extends HttpUser {
       override waitTime = constant(0.01);
       @task async t() {
         await this.client.get('${prefix}/quick');
         await this.client.get('${prefix}/held?${hold}', { name: '${prefix}/held' });
       }
     }`,
  );
}

/** The traceparents the target received on paths under `prefix`, as span ids. */
function seenSpanIds(prefix: string): Array<{ path: string; spanId: string }> {
  return stack.target.requests
    .filter((q) => q.path.startsWith(prefix))
    .map((q) => {
      const parts = (q.traceparent ?? '').split('-');
      expect(parts, `a traceparent on ${q.path}`).toHaveLength(4);
      return { path: q.path, spanId: parts[2] as string };
    });
}

interface Checked {
  clients: Map<string, StoredSpan>;
  cutOff: StoredSpan[];
}

/** Every traceparent the target saw under `prefix` has its CLIENT span in the store, exactly once. */
function everyTraceparentHasItsSpan(prefix: string, runId: string): Checked {
  const seen = seenSpanIds(prefix);
  expect(seen.length).toBeGreaterThan(0);
  const clients = new Map(clientSpansOfRun(stack.receiver, runId).map((s) => [s.spanId, s]));
  const missing = seen.filter((s) => !clients.has(s.spanId));
  expect(missing, 'traceparents the target saw without a stored span').toEqual([]);
  const cutOff = [...clients.values()].filter((s) => s.attributes[Attr.REQUEST_CUT_OFF]?.boolValue === true);
  for (const span of cutOff) {
    expect(span.statusCode).toBe(2); // ERROR
    expect(span.attributes[Attr.ERROR_TYPE]?.stringValue).toBe(CUT_OFF_ERROR_TYPE);
    expect(span.attributes[Attr.HTTP_STATUS]).toBeUndefined();
  }
  return { clients, cutOff };
}

/** Start a run, send `signal` once the target has seen `count` requests to `path`. */
async function signalAfter(args: string[], path: string, count: number, signal: NodeJS.Signals = 'SIGINT'): Promise<CliResult> {
  const child = spawnCli(args, stack.otelEnv, stack.dir);
  const result = collect(child, 60_000);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (stack.target.requests.filter((q) => q.path === path).length >= count || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  child.kill(signal);
  return result;
}

/** The run ended by `stopReason` with exit 0 (cut-off requests are no failures): its --json summary. */
function summaryOf(r: CliResult, stopReason: string): Summary {
  expect(r.code, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout) as Summary;
  expect(s.stopReason).toBe(stopReason);
  return s;
}

function expectCutOffCounted(r: CliResult, s: Summary, checked: Checked, prefix: string): void {
  // Held requests never answered, so every one the target saw was cut off; none is in the stats.
  const held = seenSpanIds(prefix).filter((q) => q.path === `${prefix}/held`);
  expect(held.length).toBeGreaterThan(0);
  for (const { spanId } of held) expect(checked.clients.get(spanId)?.attributes[Attr.REQUEST_CUT_OFF]?.boolValue, `held request ${spanId}`).toBe(true);
  expect(s.requests.find((e) => e.name === `${prefix}/held`)).toBeUndefined();
  expect(s.failures).toEqual([]);
  expect(s.cutOff).toBe(checked.cutOff.length);
  expect(s.cutOff).toBeGreaterThanOrEqual(held.length);
  expect(s.telemetry).toMatchObject({ spansEnded: s.total.count + s.cutOff, spansExported: s.total.count + s.cutOff, spansDropped: 0 });
  expect(r.stderr).toContain(`${s.cutOff} cut off by the stop (not counted)`);
}

describe('requests in flight when the run stops', () => {
  it('-t: the run time cuts off held requests, and each has its span, marked, out of the stats', async () => {
    const prefix = '/cut-run-time';
    const file = holdingScript('cut-run-time.ts', prefix, 'hang=1');
    const r = await runCli(['run', file, '--host', stack.target.url, '-u', '3', '-r', '100', '-t', '1s', '--otel', '--run-id', 'cut-run-time', '--json'], { env: stack.otelEnv, cwd: stack.dir });
    const s = summaryOf(r, 'run-time');
    expectCutOffCounted(r, s, everyTraceparentHasItsSpan(prefix, 'cut-run-time'), prefix);
  });

  it('a load shape: users it retires and the end it calls both cut off held requests, each with its span', async () => {
    const prefix = '/cut-shape';
    const file = holdingScript(
      'cut-shape.ts',
      prefix,
      'hang=1',
      `export class Down extends LoadTestShape {
         override tick(): [number, number] | null {
           const t = this.getRunTime();
           return t < 1 ? [3, 100] : t < 2 ? [1, 100] : null;
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', stack.target.url, '--otel', '--run-id', 'cut-shape', '--json'], { env: stack.otelEnv, cwd: stack.dir });
    const s = summaryOf(r, 'shape');
    expect(s.peakUsers).toBe(3);
    expectCutOffCounted(r, s, everyTraceparentHasItsSpan(prefix, 'cut-shape'), prefix);
  });

  it('Ctrl-C (SIGINT) through the real binary: the same, and the summary and JSON count them', async () => {
    const prefix = '/cut-ctrl-c';
    const file = holdingScript('cut-ctrl-c.ts', prefix, 'hang=1');
    const r = await signalAfter(['run', file, '--host', stack.target.url, '-u', '2', '-r', '100', '--otel', '--run-id', 'cut-ctrl-c', '--json'], `${prefix}/held`, 2);
    const s = summaryOf(r, 'interrupted');
    expectCutOffCounted(r, s, everyTraceparentHasItsSpan(prefix, 'cut-ctrl-c'), prefix);
  });

  it('SIGTERM with --processes: every worker exports its cut-off spans, and the parent adds up their count', async () => {
    const prefix = '/cut-processes';
    const file = holdingScript('cut-processes.ts', prefix, 'hang=1');
    const r = await signalAfter(['run', file, '--host', stack.target.url, '-u', '4', '-r', '100', '--processes', '2', '--otel', '--run-id', 'cut-processes', '--json'], `${prefix}/held`, 4, 'SIGTERM');
    const s = summaryOf(r, 'interrupted');
    const checked = everyTraceparentHasItsSpan(prefix, 'cut-processes');
    expect(checked.cutOff.length).toBeGreaterThanOrEqual(4);
    expectCutOffCounted(r, s, checked, prefix);
  });

  it('--stop-timeout lets a held request finish and count; what still runs when it expires is cut off', async () => {
    // The task's first held request answers after 1.5 s, well within the 4 s stop timeout: it
    // completes and counts. The task then goes on (as in Locust, the task finishes) into a
    // request that never answers, which the expiring timeout cuts off.
    const prefix = '/stop-timeout';
    const file = writeScript(
      stack.dir,
      'stop-timeout.ts',
      `import { HttpUser, task, constant } from 'firstspan';
       export class Patient extends HttpUser {
         override waitTime = constant(0.01);
         @task async t() {
           await this.client.get('${prefix}/held?delay=1500', { name: '${prefix}/held' });
           await this.client.get('${prefix}/never?hang=1', { name: '${prefix}/never' });
         }
       }`,
    );
    const r = await signalAfter(['run', file, '--host', stack.target.url, '-u', '1', '--stop-timeout', '4', '--otel', '--run-id', 'stop-timeout', '--json'], `${prefix}/held`, 1);
    const s = summaryOf(r, 'interrupted');
    const checked = everyTraceparentHasItsSpan(prefix, 'stop-timeout');
    const seen = seenSpanIds(prefix);
    const held = seen.filter((q) => q.path === `${prefix}/held`);
    const never = seen.filter((q) => q.path === `${prefix}/never`);
    expect(held).toHaveLength(1);
    expect(never).toHaveLength(1);
    const heldSpan = checked.clients.get(held[0]?.spanId ?? '');
    expect(heldSpan?.attributes[Attr.REQUEST_CUT_OFF]).toBeUndefined();
    expect(Number(heldSpan?.attributes[Attr.HTTP_STATUS]?.intValue)).toBe(200);
    expect(s.requests.find((e) => e.name === `${prefix}/held`)).toMatchObject({ count: 1, failures: 0 });
    expect(checked.clients.get(never[0]?.spanId ?? '')?.attributes[Attr.REQUEST_CUT_OFF]?.boolValue).toBe(true);
    expect(s.requests.find((e) => e.name === `${prefix}/never`)).toBeUndefined();
    expect(s.cutOff).toBe(1);
  });

  it('--stop-timeout also lets the users a load shape stops finish their task, as in Locust', async () => {
    // Two users, one from the second second on, then the end: each stop falls in a 1.2 s request
    // (the tasks run back to back), which the 5 s stop timeout lets finish.
    const prefix = '/stop-timeout-shape';
    const file = writeScript(
      stack.dir,
      'stop-timeout-shape.ts',
      `import { HttpUser, LoadTestShape, task, constant } from 'firstspan';
       export class Patient extends HttpUser {
         override waitTime = constant(0.01);
         @task async t() { await this.client.get('${prefix}/held?delay=1200', { name: '${prefix}/held' }); }
       }
       export class Down extends LoadTestShape {
         override tick(): [number, number] | null {
           const t = this.getRunTime();
           return t < 1 ? [2, 100] : t < 2.5 ? [1, 100] : null;
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', stack.target.url, '-s', '5', '--otel', '--run-id', 'stop-timeout-shape', '--json'], { env: stack.otelEnv, cwd: stack.dir });
    const s = summaryOf(r, 'shape');
    const checked = everyTraceparentHasItsSpan(prefix, 'stop-timeout-shape');
    expect(checked.cutOff).toEqual([]);
    expect(s.cutOff).toBe(0);
    expect(s.peakUsers).toBe(2);
    expect(s.requests.find((e) => e.name === `${prefix}/held`)).toMatchObject({ count: seenSpanIds(prefix).length, failures: 0 });
  });

  it('--stop-timeout takes seconds or a duration, and says what to fix otherwise', async () => {
    const file = holdingScript('stop-timeout-bad.ts', '/unused', 'hang=1');
    const r = await runCli(['run', file, '--host', stack.target.url, '--stop-timeout', 'soon'], { cwd: stack.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("-s/--stop-timeout must be seconds or a duration like 10s or 1m (0 to cut off at once), got 'soon'");
  });
});
