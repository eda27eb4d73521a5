// `firstspan demo` options: embedded defaults < flags, every problem reported at once.
import { numberFlag, parseDuration, parseFlags, Problems } from '../cli/args.ts';

export interface DemoOptions {
  users: number;
  spawnRate: number;
  runTimeMs: number;
  connectDelayMs: number;
  /** Work per shop request, ms: the server's own, steady cost. */
  shopLatencyMs: number;
  /** SQLite file; undefined means a fresh one in a new temporary directory. */
  db: string | undefined;
  /** Where the HTML report goes. */
  out: string;
  /** Also write the analyzer's JSON here (CI, tests). */
  json: string | undefined;
  script: string;
  /** Put the proxy's hold inside the TLS handshake: the proxy terminates TLS (throwaway test
   *  certificate) and the generator talks https to it with --insecure. */
  tls: boolean;
  /** Hold each new connection's SYN in the kernel (Linux, root): the delay shows in the connect phase. */
  holdHandshake: boolean;
  /** How far (percent of the delay held) the found delay may be off before the demo exits 1. */
  tolerancePct: number;
}

export const DEMO_HELP = `Usage: firstspan demo [options]

Everything wired together on this machine: an OTLP receiver into a fresh SQLite file, the demo shop
(two services, traced with the OpenTelemetry SDK), a TCP proxy in front of the shop that delays each
new connection, and examples/ecommerce_shopper.ts run by \`firstspan run --otel\`. Then the analyzer
prints its table and writes the HTML report. The injected connection delay shows up as the gap.

Options:
  -u, --users N          virtual users (default 20)
  -r, --spawn-rate N     users started per second (default: users/4, so all run after ~4 s)
  -t, --run-time T       how long the load runs: 20s, 1m, 1m30s (default 20s)
  --connect-delay T      delay the proxy adds to each new connection: 150ms, 0.2s (default 150ms)
  --shop-latency T       the shop's own work per request (default 2ms)
  --db FILE              store spans in FILE (default: a new file in a temporary directory)
  --out FILE             the HTML report (default firstspan-report.html)
  --json FILE            also write the analyzer's JSON report
  --script FILE          load-test script (default examples/ecommerce_shopper.ts)
  --tls                  the proxy speaks TLS (throwaway localhost certificate) and holds each new
                         connection before answering the handshake, so the delay shows in the
                         generator's tls phase instead of time to first byte
  --hold-handshake       hold each new connection's TCP handshake itself (each SYN waits in the
                         kernel: Linux and root only, iptables NFQUEUE), so the delay shows in the
                         generator's connect phase
  --tolerance PCT        how far the delay found may be off the delay injected, in percent,
                         before the demo exits 1 (default 10)
  -h, --help             this text

Ctrl-C stops the load and every process the demo started.
Exit codes: 0 done and the delay found, 1 the delay not found within the tolerance, 2 bad flags,
130 interrupted, otherwise the analyzer's (docs/cli.md).
`;

export function resolveDemoOptions(argv: string[]): DemoOptions | { help: true } | { problems: Problems } {
  const parsed = parseFlags(argv, {
    users: { type: 'string', short: 'u' },
    'spawn-rate': { type: 'string', short: 'r' },
    'run-time': { type: 'string', short: 't' },
    'connect-delay': { type: 'string' },
    'shop-latency': { type: 'string' },
    db: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    script: { type: 'string' },
    tls: { type: 'boolean' },
    'hold-handshake': { type: 'boolean' },
    tolerance: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const problems = new Problems();
  if ('error' in parsed) {
    problems.add(parsed.error);
    return { problems };
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help === true) return { help: true };
  const str = (name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const users = numberFlag(problems, '--users', str('users'), { min: 1, integer: true }) ?? 20;
  // Ramp up over about four seconds rather than all at once: each user's first request opens its
  // connection (the one that pays the injected delay), and spreading those out keeps them clear of
  // the generator's own start-up work, which would otherwise blur the measured gap.
  const spawnRate = numberFlag(problems, '--spawn-rate', str('spawn-rate'), { min: 0.01 }) ?? Math.max(1, users / 4);
  const duration = (flag: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    // A bare number means seconds for --run-time (Locust's rule) but milliseconds for the latencies.
    const ms = flag === '--run-time' || !/^\d+(\.\d+)?$/.test(raw.trim()) ? parseDuration(raw) : Number(raw);
    if (ms === undefined || ms < min) {
      problems.add(`${flag} must be a duration like ${flag === '--run-time' ? '20s or 1m30s' : '150ms or 0.2s'}${min > 0 ? ` of at least ${min} ms` : ''}, got '${raw}'`);
      return fallback;
    }
    return ms;
  };
  const options: DemoOptions = {
    users,
    spawnRate,
    runTimeMs: duration('--run-time', str('run-time'), 20_000, 1000),
    connectDelayMs: duration('--connect-delay', str('connect-delay'), 150, 0),
    shopLatencyMs: duration('--shop-latency', str('shop-latency'), 2, 0),
    db: str('db'),
    out: str('out') ?? 'firstspan-report.html',
    json: str('json'),
    script: str('script') ?? 'examples/ecommerce_shopper.ts',
    tls: v.tls === true,
    holdHandshake: v['hold-handshake'] === true,
    tolerancePct: numberFlag(problems, '--tolerance', str('tolerance'), { min: 0 }) ?? 10,
  };
  if (parsed.positionals.length > 0) problems.add(`unexpected argument '${parsed.positionals[0]}'`);
  return problems.empty ? options : { problems };
}
