// `firstspan demo`: the whole system on one machine, on embedded defaults.
//
//   firstspan receive (child, fresh SQLite) ◀── OTLP ── shop + inventory (child, OTel SDK)
//        ▲                                                  ▲
//        └──── OTLP ── firstspan run --otel (child) ── delay proxy (in-process, +N ms per new connection)
//
// Then the analyzer runs on the database: table to the terminal, HTML report to a file, and a
// ground-truth line comparing the measured gap with the delay the proxy injected.
//
// The receiver, the shop and the generator are child processes because that is how they run for
// real (their own event loops, SDKs and clocks). Only the delay proxy runs here, so its timers
// share this event loop with nothing heavier than the once-a-second progress read: a receiver
// committing batches in the same loop would make the injected delay late (or, with a stale loop
// clock, early) by milliseconds. Every child is registered in a ChildGroup and stopped on Ctrl-C,
// on error, and at the end (the receiver last, so the others' final exports still land); the shop
// also watches its stdin, so it exits even if this process is killed outright.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes } from '../model/errors.ts';
import { lastSpanRowid, runGapRows, spansPerServiceSince } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { ChildGroup, type RunningChild } from './child-process.ts';
import { checkConnectionGaps, describeCheck, judgeCheck } from './connection-check.ts';
import { startDelayProxy, type DelayProxy } from './delay-proxy.ts';
import { handshakeHoldUnavailable } from './handshake-hold.ts';
import { DEMO_HELP, resolveDemoOptions, type DemoOptions } from './options.ts';
import { ProgressLine } from './progress.ts';

// The children run on the same Node as this process (process.execPath is a constant, not I/O).
const NODE = process.execPath;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'firstspan.js');
const SHOP = path.join(ROOT, 'examples', 'shop', 'main.ts');
/** Throwaway self-signed certificate for 127.0.0.1/localhost (demo/fixtures/README.md). */
const TEST_CERT = path.join(ROOT, 'demo', 'fixtures', 'localhost-cert.pem');
const TEST_KEY = path.join(ROOT, 'demo', 'fixtures', 'localhost-key.pem');

/** The children get the caller's environment minus every OTEL_* variable, then exactly ours:
 *  a user's vendor settings (the seed's OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, say) must not send the
 *  demo's spans elsewhere. */
function childEnv(base: CommandIO['env'], extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('OTEL_')) env[k] = v;
  return { ...env, ...extra };
}

export async function demoCommand(argv: string[], io: CommandIO): Promise<number> {
  const resolved = resolveDemoOptions(argv);
  if ('help' in resolved) {
    io.stdout.write(DEMO_HELP);
    return ExitCodes.OK;
  }
  if ('problems' in resolved) {
    io.stderr.write(resolved.problems.format('demo'));
    return ExitCodes.USAGE;
  }
  // Before anything starts: a handshake hold that cannot run here is a usage problem.
  const cannotHold = resolved.holdHandshake ? handshakeHoldUnavailable() : undefined;
  if (cannotHold !== undefined) {
    io.stderr.write(`firstspan demo: --hold-handshake: ${cannotHold}; without it the delay shows as time to first byte, or use --tls\n`);
    return ExitCodes.USAGE;
  }
  return runDemo(resolved, io);
}

async function runDemo(options: DemoOptions, io: CommandIO): Promise<number> {
  const say = (text: string): void => void io.stderr.write(text);
  const dbPath = path.resolve(io.cwd, options.db ?? path.join(mkdtempSync(path.join(tmpdir(), 'firstspan-demo-')), 'demo.db'));
  const outPath = path.resolve(io.cwd, options.out);
  const scriptPath = path.resolve(options.script === 'examples/ecommerce_shopper.ts' ? ROOT : io.cwd, options.script);
  const runId = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`;
  const children = new ChildGroup();
  let receiver: RunningChild | undefined;
  let reader: SpanStore | undefined;
  let proxy: DelayProxy | undefined;
  let progress: ProgressLine | undefined;

  const shutdown = async (): Promise<void> => {
    progress?.stop();
    await children.stopAll(15_000, receiver);
    await proxy?.close();
    reader?.close();
    reader = undefined;
  };
  const interrupted = async (): Promise<number> => {
    say('\nfirstspan demo: interrupted; stopping everything it started…\n');
    await shutdown();
    say(`Spans received so far are in ${dbPath}\n  analyze them with: firstspan analyze --db ${dbPath}\n`);
    return ExitCodes.INTERRUPTED;
  };

  try {
    // 1. The receiver: `firstspan receive` on a free port, as a user would run it.
    receiver = children.start({
      name: 'firstspan receive',
      command: NODE,
      args: [BIN, 'receive', '--port', '0', '--host', '127.0.0.1', '--no-grpc', '--db', dbPath],
      cwd: io.cwd,
      env: childEnv(io.env, {}),
      readyPattern: /listening on (http:\/\/\S+)/,
      onStderrLine: (line) => say(`receiver: ${line}\n`),
    });
    const receiverUrl = (await abortable(receiver.ready, io.signal))[1] as string;
    // A read-only view of the same file (WAL lets it read while the receiver writes): progress
    // and the ground-truth check. rowid only grows, so max(rowid) counts spans without a scan.
    const view = SpanStore.open(dbPath, { readonly: true });
    reader = view;
    const firstRowid = lastSpanRowid(view);
    say(`receiver   ${receiverUrl}  → ${dbPath}\n`);

    // 2. The shop (shop + inventory services), exporting straight to the receiver.
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
    const shop: RunningChild = children.start({
      name: 'the demo shop',
      command: NODE,
      args: ['--import', import.meta.resolve('tsx'), SHOP, '--port', '0', '--exit-with-stdin'],
      cwd: ROOT,
      env: childEnv(io.env, { ...otlp, OTEL_SERVICE_NAME: 'shop', SHOP_LATENCY_MS: String(options.shopLatencyMs) }),
      readyPattern: /listening on (http:\/\/\S+?)\/? /,
      stdinPipe: true,
      onStderrLine: (line) => say(`shop: ${line}\n`),
    });
    const shopUrl = new URL((await abortable(shop.ready, io.signal))[1] as string);
    say(`shop       ${shopUrl.origin}  (services shop + inventory, ${options.shopLatencyMs} ms of work per request)\n`);

    // 3. The delay proxy in front of the shop: the known, injected connection set-up cost.
    //    With --tls it holds before answering the ClientHello, so the hold lands in the TLS phase;
    //    with --hold-handshake the kernel holds each SYN, so it lands in the TCP connect phase.
    proxy = await startDelayProxy({
      target: { host: shopUrl.hostname, port: Number(shopUrl.port) },
      connectDelayMs: options.connectDelayMs,
      holdHandshake: options.holdHandshake,
      ...(options.tls ? { tls: { key: readFileSync(TEST_KEY), cert: readFileSync(TEST_CERT) } } : {}),
    });
    const target = `${options.tls ? 'https' : 'http'}://127.0.0.1:${proxy.port}`;
    const where = options.holdHandshake ? ', in the TCP handshake (SYN held in the kernel)' : options.tls ? ', before the TLS handshake completes' : '';
    say(`proxy      ${target}  (+${options.connectDelayMs} ms on every new connection${where})\n`);

    // 4. The load test, through the real CLI.
    const generatorOut: string[] = [];
    say(`load       ${path.relative(io.cwd, scriptPath) || scriptPath}: ${options.users} users for ${options.runTimeMs / 1000}s, run id ${runId}\n\n`);
    const generator = children.start({
      name: 'firstspan run',
      command: NODE,
      args: [
        BIN, 'run', scriptPath, '--host', target,
        '-u', String(options.users), '-r', String(options.spawnRate), '-t', `${options.runTimeMs / 1000}s`,
        '--headless', '--otel', '--run-id', runId,
        // The proxy's certificate is a self-signed test one.
        ...(options.tls ? ['--insecure'] : []),
      ],
      cwd: io.cwd,
      env: childEnv(io.env, { ...otlp, OTEL_SERVICE_NAME: 'firstspan', NO_COLOR: '1' }),
      onStdoutLine: (line) => generatorOut.push(line),
      onStderrLine: (line) => progress?.log(line),
    });
    const loadStartedAtMs = Date.now();
    progress = new ProgressLine(io.stderr, () => ({
      elapsedMs: Date.now() - loadStartedAtMs,
      runTimeMs: options.runTimeMs,
      users: options.users,
      spans: lastSpanRowid(view) - firstRowid,
      connections: proxy?.connections ?? 0,
    }));
    progress.start();
    const generatorCode = await abortable(generator.exited, io.signal);
    progress.stop();
    if (generatorOut.length > 0) io.stdout.write(`${generatorOut.join('\n')}\n\n`);
    if (generatorCode !== ExitCodes.OK && generatorCode !== ExitCodes.REQUEST_FAILURES) {
      say(`firstspan demo: the load test failed (exit code ${generatorCode}):\n${generator.output()}\n`);
      await shutdown();
      return ExitCodes.INTERNAL;
    }

    // 5. Flush: the generator flushed before it exited; the shop flushes on SIGTERM and exits only
    //    once its exporter has been answered; the receiver answers 200 only after a commit, and on
    //    SIGTERM finishes in-flight requests and closes the database.
    const shopCode = await children.stop(shop, 'SIGTERM', 15_000);
    if (shopCode !== 0) say(`firstspan demo: the shop exited with code ${shopCode}; some of its spans may be missing\n`);
    await proxy.close();
    const receiverCode = await children.stop(receiver, 'SIGTERM', 30_000);
    if (receiverCode !== 0) say(`firstspan demo: the receiver exited with code ${receiverCode}\n`);
    const byService = spansPerServiceSince(reader, firstRowid);
    say(`spans stored: ${byService.map((s) => `${s.service} ${s.spans}`).join(', ') || 'none'}\n`);
    const check = checkConnectionGaps(runGapRows(reader, runId));
    const injected = { askedMs: options.connectDelayMs, heldMs: proxy.holds };
    const verdict = judgeCheck(check, injected, options.tolerancePct / 100);
    reader.close();
    reader = undefined;

    // 6. Analyse this run: the table to stdout, the HTML report (and JSON on request) to files.
    //    The ground-truth lines come last, and also when the analyzer fails.
    let code: number;
    try {
      code = await analyzeRun(dbPath, runId, outPath, options.json === undefined ? undefined : path.resolve(io.cwd, options.json), io);
    } finally {
      io.stdout.write(`\n${describeCheck(check, injected, verdict)}`);
    }
    if (code === ExitCodes.OK) io.stdout.write(`\nReport: ${outPath}\n`);
    else say(`firstspan demo: the analyzer exited with code ${code}\n`);
    io.stdout.write(`Spans:  ${dbPath}  (firstspan analyze --db ${dbPath} --run-id ${runId})\n`);
    // The demo's claim is that the delay shows up as the gap: a check that cannot fail proves nothing.
    if (code === ExitCodes.OK && verdict?.ok === false) {
      say('firstspan demo: the ground-truth check failed: the injected delay was not found within the tolerance (exit 1)\n');
      return ExitCodes.DEMO_CHECK_FAILED;
    }
    return code;
  } catch (error) {
    if (io.signal.aborted) return await interrupted();
    await shutdown();
    throw error;
  } finally {
    progress?.stop();
    if (children.running > 0 || reader !== undefined) await shutdown();
  }
}

/**
 * The analyzer, in-process through its API: one analysis of this run, rendered three ways — the
 * table on the terminal, the HTML report, and the JSON when asked for.
 */
async function analyzeRun(dbPath: string, runId: string, outPath: string, jsonPath: string | undefined, io: CommandIO): Promise<number> {
  const [{ analyzeFiles }, { renderTable }, { renderHtml }, { renderJson }] = await Promise.all([
    import('../analyzer/analyze-files.ts'),
    import('../analyzer/render-table.ts'),
    import('../analyzer/render-html.ts'),
    import('../analyzer/render-json.ts'),
  ]);
  const report = await analyzeFiles([dbPath], {
    runId,
    // The receiver has stopped, every span is in: no run here can still be receiving.
    settleMs: 0,
    // The shop exports its runtime metrics; its CPU goes under the gap on the report's timeline.
    metrics: ['process.cpu.utilization'],
  });
  if (report.runs.length === 0) {
    io.stderr.write(`firstspan demo: the analyzer found no run ${runId} in ${dbPath}\n`);
    return ExitCodes.NO_RUNS;
  }
  io.stdout.write('\n' + renderTable(report));
  writeFileSync(outPath, renderHtml(report));
  if (jsonPath !== undefined) writeFileSync(jsonPath, renderJson(report));
  return ExitCodes.OK;
}

/** Reject as soon as the signal fires, so Ctrl-C never waits for a whole run to finish. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
