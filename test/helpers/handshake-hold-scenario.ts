// Run inside a network namespace by test/generator-handshake.test.ts (it changes that namespace's
// firewall): the receiver, the OTel-instrumented target, a delay proxy holding each new
// connection's SYN in the kernel, and the real generator binary through it. Prints one JSON object
// with what the test asserts on.
//   node --import tsx test/helpers/handshake-hold-scenario.ts DELAY_MS
import { startDelayProxy } from '../../demo/delay-proxy.ts';
import { durationMs, phaseSum, SPAN_KIND, startStack, storedSpans, type StoredSpan } from './generator-harness.ts';
import { runThroughProxy } from './proxy-scenario.ts';

export interface HandshakeScenarioResult {
  delayMs: number;
  proxyConnections: number;
  handshakesHeld: number | undefined;
  clients: Array<{ name: string; spanId: string; traceId: string; reused: number | null; phases: Record<string, number | null>; durationMs: number; phaseSumMs: number }>;
  /** parent span id → trace id of the target's SERVER spans. */
  serverParents: Array<{ parentSpanId: string | null; traceId: string }>;
}

const delayMs = Number(process.argv[2]);
if (!(delayMs > 0)) throw new Error('usage: handshake-hold-scenario.ts DELAY_MS');

const stack = await startStack();
try {
  const proxy = await startDelayProxy({ target: { host: '127.0.0.1', port: stack.target.port }, connectDelayMs: delayMs, holdHandshake: true });
  let clients: StoredSpan[];
  let handshakesHeld: number | undefined;
  try {
    ({ clients } = await runThroughProxy(stack, 'handshake-hold', ['--host', `http://127.0.0.1:${proxy.port}`]));
  } finally {
    ({ handshakesHeld } = await proxy.close());
  }
  // The target flushes its spans when it closes.
  await stack.target.close();
  const result: HandshakeScenarioResult = {
    delayMs,
    proxyConnections: proxy.connections,
    handshakesHeld,
    clients: clients.map((c) => ({ name: c.name, spanId: c.spanId, traceId: c.traceId, reused: c.connectionReused, phases: c.phases, durationMs: durationMs(c), phaseSumMs: phaseSum(c) })),
    serverParents: storedSpans(stack.receiver, 'kind = ? AND service_name = ?', SPAN_KIND.SERVER, 'target-service').map((s) => ({ parentSpanId: s.parentSpanId, traceId: s.traceId })),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await stack.close();
}
