// Run inside a network namespace by test/generator-handshake.test.ts (it changes that namespace's
// firewall): the receiver, the OTel-instrumented target, a delay proxy holding each new
// connection's SYN in the kernel, and the real generator binary through it. Prints one JSON object
// with what the test asserts on.
//   node --import tsx test/helpers/handshake-hold-scenario.ts ground-truth DELAY_MS
//   node --import tsx test/helpers/handshake-hold-scenario.ts second-holder
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { startDelayProxy } from '../../demo/delay-proxy.ts';
import { startHandshakeHold } from '../../demo/handshake-hold.ts';
import { durationMs, phaseSum, serverSpansOf, startStack, type StoredSpan } from './generator-harness.ts';
import { runThroughProxy } from './proxy-scenario.ts';

export interface HandshakeScenarioResult {
  delayMs: number;
  proxyConnections: number;
  handshakesHeld: number | undefined;
  clients: Array<{ name: string; spanId: string; traceId: string; reused: number | null; phases: Record<string, number | null>; durationMs: number; phaseSumMs: number }>;
  /** parent span id → trace id of the target's SERVER spans. */
  serverParents: Array<{ parentSpanId: string | null; traceId: string }>;
  /** Firewall rules left behind once the proxy is closed (mangle PREROUTING, NFQUEUE ones). */
  rulesLeft: string[];
}

export interface SecondHolderResult {
  /** The error code the second hold on the same port was refused with (undefined: not refused). */
  secondCode: string | undefined;
  secondMessage: string;
  /** SYNs the first hold held: a connection made after the refusal still goes through it. */
  firstHeld: number;
  connectMs: number;
  /** Firewall rules left behind once both are stopped (mangle PREROUTING, NFQUEUE ones). */
  rulesLeft: string[];
}

/** The NFQUEUE rules currently in this namespace's mangle PREROUTING chain. */
function nfqueueRules(): string[] {
  const out = spawnSync('iptables', ['-w', '-t', 'mangle', '-S', 'PREROUTING'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((line) => line.includes('NFQUEUE'));
}

async function groundTruth(delayMs: number): Promise<HandshakeScenarioResult> {
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
    return {
      delayMs,
      proxyConnections: proxy.connections,
      handshakesHeld,
      clients: clients.map((c) => ({ name: c.name, spanId: c.spanId, traceId: c.traceId, reused: c.connectionReused, phases: c.phases, durationMs: durationMs(c), phaseSumMs: phaseSum(c) })),
      serverParents: serverSpansOf(stack.receiver, 'target-service').map((s) => ({ parentSpanId: s.parentSpanId, traceId: s.traceId })),
      rulesLeft: nfqueueRules(),
    };
  } finally {
    await stack.close();
  }
}

/** A second hold on a port already held is refused with a clear error; the first keeps working. */
async function secondHolder(): Promise<SecondHolderResult> {
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const first = await startHandshakeHold({ port, host: '127.0.0.1', delayMs: 200 });
  let secondCode: string | undefined;
  let secondMessage = '';
  try {
    const second = await startHandshakeHold({ port, host: '127.0.0.1', delayMs: 200 });
    await second.stop();
  } catch (error) {
    secondCode = (error as { code?: string }).code;
    secondMessage = (error as Error).message;
  }
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  const connectMs = performance.now() - started;
  const firstHeld = await first.stop();
  server.close();
  return { secondCode, secondMessage, firstHeld, connectMs, rulesLeft: nfqueueRules() };
}

const [mode, arg] = process.argv.slice(2);
let output: unknown;
if (mode === 'ground-truth' && Number(arg) > 0) output = await groundTruth(Number(arg));
else if (mode === 'second-holder') output = await secondHolder();
else throw new Error('usage: handshake-hold-scenario.ts ground-truth DELAY_MS | second-holder');
process.stdout.write(`${JSON.stringify(output)}\n`);
