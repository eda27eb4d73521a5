// The standard sampler variables (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) through the real
// binary: a ratio traces that share of requests, the rest go out with an unsampled traceparent
// (so the target's parent-based sampler records nothing either), every request still counts in
// the stats and the duration histogram, and the run says how many were not sampled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { clientSpansOfRun, serverSpansInRunTraces, type Stack, startStack, type Summary, writeScript } from './helpers/generator-harness.ts';
import { metricPointsOfRun } from './helpers/stored-metrics.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const SCRIPT = `import { HttpUser, task } from 'firstspan';
export class Sampled extends HttpUser { @task async t() { await this.client.get('/sampled'); } }
`;
const REQUESTS = 400;

async function run(runId: string, env: Record<string, string>) {
  const script = writeScript(stack.dir, `${runId}.ts`, SCRIPT);
  const seenBefore = stack.target.requests.length;
  const r = await runCli(['run', script, '--host', stack.target.url, '-u', '4', '-r', '100', '-i', String(REQUESTS), '--otel', '--run-id', runId, '--json'], {
    env: { ...stack.otelEnv, ...env },
    cwd: stack.dir,
  });
  expect(r.code, r.stderr).toBe(0);
  return { summary: JSON.parse(r.stdout) as Summary & { telemetry: { spansNotSampled: number } }, stderr: r.stderr, seen: stack.target.requests.slice(seenBefore) };
}

function durationCount(runId: string): number {
  const counts = metricPointsOfRun(stack.receiver.store.path, runId)
    .filter((p) => p.metric_name === 'firstspan.request.duration')
    .map((p) => p.count ?? 0);
  // Cumulative: the last export holds every request.
  return Math.max(0, ...counts);
}

describe('OTEL_TRACES_SAMPLER', () => {
  it('traceidratio traces about that share of requests and says how many it left out', async () => {
    const { summary, stderr, seen } = await run('ratio', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    expect(summary.total.count).toBe(REQUESTS);
    const t = summary.telemetry;
    expect(t.spansEnded + t.spansNotSampled).toBe(REQUESTS);
    // Binomial(400, 0.25): mean 100, sd 8.7; outside 50..150 is a >5 sd event.
    expect(t.spansEnded).toBeGreaterThan(50);
    expect(t.spansEnded).toBeLessThan(150);
    expect(t.spansExported).toBe(t.spansEnded);
    expect(stderr).toContain(`${t.spansNotSampled} requests not sampled`);
    // Every request carried a traceparent; its flags say whether it was sampled.
    expect(seen).toHaveLength(REQUESTS);
    const flags = seen.map((s) => s.traceparent?.slice(-2));
    expect(flags.filter((f) => f === '01')).toHaveLength(t.spansEnded);
    expect(flags.filter((f) => f === '00')).toHaveLength(t.spansNotSampled);
    await stack.target.close();
    const clients = clientSpansOfRun(stack.receiver, 'ratio');
    expect(clients).toHaveLength(t.spansEnded);
    // The target recorded exactly the sampled traces, each the child of its client span.
    const sampledIds = new Set(clients.map((c) => c.traceId));
    const sampledTraceparents = seen.filter((s) => s.traceparent?.endsWith('-01')).map((s) => s.traceparent!.split('-')[1]);
    expect(new Set(sampledTraceparents)).toEqual(sampledIds);
    const servers = serverSpansInRunTraces(stack.receiver, 'target-service', 'ratio');
    expect(servers).toHaveLength(t.spansEnded);
    // The duration histogram counts every request, sampled or not.
    expect(durationCount('ratio')).toBe(REQUESTS);
  });

  it('always_off traces nothing but still measures every request', async () => {
    stack = await restartStack();
    const { summary } = await run('off', { OTEL_TRACES_SAMPLER: 'always_off' });
    expect(summary.telemetry).toMatchObject({ spansEnded: 0, spansExported: 0, spansNotSampled: REQUESTS });
    expect(clientSpansOfRun(stack.receiver, 'off')).toHaveLength(0);
    expect(durationCount('off')).toBe(REQUESTS);
  });

  it('refuses an unknown sampler or a ratio outside 0..1, listing both, exit 2', async () => {
    const script = writeScript(stack.dir, 'bad.ts', SCRIPT);
    const r = await runCli(['run', script, '--host', stack.target.url, '-i', '1', '--otel'], {
      env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5', OTEL_EXPORTER_OTLP_PROTOCOL: 'smoke' },
      cwd: stack.dir,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for traceidratio, got '1.5'");
    expect(r.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL must be one of');
    const r2 = await runCli(['run', script, '--host', stack.target.url, '-i', '1', '--otel'], { env: { OTEL_TRACES_SAMPLER: 'jaeger_remote' }, cwd: stack.dir });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio");
  });
});

/** The first test closed the target to flush its spans; later tests get a fresh stack. */
async function restartStack(): Promise<Stack> {
  await stack.close();
  return startStack();
}
