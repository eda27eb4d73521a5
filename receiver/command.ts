// `firstspan receive`: resolve flags and env once, start the receiver, print the listening line,
// wait for SIGINT/SIGTERM (io.signal), close gracefully. Every acknowledged span is committed
// before its 200 was sent, so stopping only has to finish what is in flight.
import { resolve } from 'node:path';
import { envValue, type CommandIO } from '../cli/io.ts';
import { numberFlag, parseFlags, Problems } from '../cli/args.ts';
import { ExitCodes, FirstspanError } from '../model/errors.ts';
import { SCHEMA_VERSION } from '../model/store.ts';
import { DEFAULT_MAX_BODY_BYTES } from './ingest.ts';
import { ListenError, startReceiver } from './start.ts';

const HELP = `Usage: firstspan receive [options]

OTLP receiver: stores every span and metric data point it is sent in SQLite.
Listens for OTLP/HTTP (POST /v1/traces, /v1/metrics; protobuf or JSON; gzip, zstd, snappy,
zlib/deflate or lz4) and OTLP/gRPC (TraceService/Export, MetricsService/Export).
Refused requests are logged (the first of each kind at once, then at most every 10 s)
and counted by kind in the summary printed at shutdown.

Options:
  --port N            OTLP/HTTP port (default 4318; 0 picks free ports for HTTP and gRPC)
  --host HOST         address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --db FILE           SQLite database to write (default firstspan.db; created if missing)
  --grpc-port N       OTLP/gRPC port (default 4317, or a free one with --port 0; 0 picks a free port)
  --no-grpc           do not listen for OTLP/gRPC
  --token T           require 'Authorization: Bearer T' on every request (env FIRSTSPAN_RECEIVER_TOKEN)
  --max-body-size S   largest request body, also after decompression (default 64MiB; e.g. 4MiB, 1000000)
  --max-queue N       spans/data points waiting for commit before clients get 429 (default 65536)
  -h, --help          show this help

Docs: docs/receiver.md
`;

/** Parse sizes like 64MiB, 4MB, 512KiB, 1000000 into bytes. */
export function parseSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(raw);
  if (m === null) return undefined;
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  const bytes = Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]!);
  return bytes >= 1 ? bytes : undefined;
}

export async function receiveCommand(argv: string[], io: CommandIO): Promise<number> {
  const parsed = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'grpc-port': { type: 'string' },
    'no-grpc': { type: 'boolean' },
    token: { type: 'string' },
    'max-body-size': { type: 'string' },
    'max-queue': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('error' in parsed) {
    io.stderr.write(`firstspan receive: ${parsed.error}\nRun 'firstspan receive --help' for usage.\n`);
    return ExitCodes.USAGE;
  }
  const v = parsed.values;
  if (v.help === true) {
    io.stdout.write(HELP);
    return ExitCodes.OK;
  }
  const problems = new Problems();
  const port = numberFlag(problems, '--port', v.port as string | undefined, { integer: true, min: 0 }) ?? 4318;
  const grpcPortFlag = numberFlag(problems, '--grpc-port', v['grpc-port'] as string | undefined, { integer: true, min: 0 });
  if (port > 65535) problems.add(`--port must be at most 65535, got ${port}`);
  if (grpcPortFlag !== undefined && grpcPortFlag > 65535) problems.add(`--grpc-port must be at most 65535, got ${grpcPortFlag}`);
  if (v['no-grpc'] === true && grpcPortFlag !== undefined) problems.add('--grpc-port and --no-grpc contradict each other: pass one');
  const maxQueue = numberFlag(problems, '--max-queue', v['max-queue'] as string | undefined, { integer: true, min: 1 });
  let maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  if (typeof v['max-body-size'] === 'string') {
    const size = parseSize(v['max-body-size']);
    if (size === undefined) problems.add(`--max-body-size must be a size such as 64MiB, 4MB or 1000000, got '${v['max-body-size']}'`);
    else maxBodyBytes = size;
  }
  const host = (v.host as string | undefined) ?? '127.0.0.1';
  if (host.trim() === '') problems.add('--host must not be empty');
  const db = (v.db as string | undefined) ?? 'firstspan.db';
  if (db.trim() === '') problems.add('--db must not be empty');
  const token = (v.token as string | undefined) ?? envValue(io.env, 'FIRSTSPAN_RECEIVER_TOKEN');
  if (token !== undefined && token.trim() === '') problems.add('--token must not be empty (omit it to accept requests without a token)');
  if (!problems.empty) {
    io.stderr.write(problems.format('receive'));
    return ExitCodes.USAGE;
  }
  // --port 0 asks for free ports: the gRPC one too, unless given, so receivers can run side by side.
  const grpcPort = v['no-grpc'] === true ? false : (grpcPortFlag ?? (port === 0 ? 0 : 4317));

  if (io.signal.aborted) return ExitCodes.INTERRUPTED;
  let receiver;
  try {
    receiver = await startReceiver({
      // Relative to the command's cwd (the shell's, from bin/), as every command resolves paths;
      // SQLite's ':memory:' is no path.
      db: db === ':memory:' ? db : resolve(io.cwd, db),
      host,
      port,
      grpcPort,
      token,
      maxBodyBytes,
      maxPendingItems: maxQueue,
      logRefusal: (line) => io.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof ListenError) {
      const flag = error.transport === 'OTLP/HTTP' ? '--port' : '--grpc-port';
      throw new FirstspanError(
        'FS_ERR_BAD_CONFIG',
        `${error.message}. Pick another ${flag} (--port 0 picks free ports for both) or --host.`,
        { cause: error },
      );
    }
    throw error;
  }
  if (receiver.store.migratedFrom !== undefined) {
    io.stderr.write(`firstspan receiver: migrated ${db} from store schema version ${receiver.store.migratedFrom} to ${SCHEMA_VERSION} (append-only: its id indexes are now built by the analyzer)\n`);
  }
  const grpcPart = receiver.grpcUrl === undefined ? '' : `, OTLP/gRPC on ${receiver.grpcUrl}`;
  io.stdout.write(`firstspan receiver listening on ${receiver.url} (OTLP/HTTP)${grpcPart}, writing ${db}\n`);

  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const c = receiver.ingest.counters;
  await receiver.close();
  const q = receiver.ingest.queue.stats();
  io.stderr.write(
    `firstspan receiver stopped: ${c.stored} stored, ${c.duplicates} duplicates ignored, ${c.rejected} rejected, ` +
      `${c.invalidRequests} undecodable requests, ${c.pushedBack} pushed back, ${receiver.refusals.summary()}, ${q.commits} commits` +
      `${c.logRecordsNotStored > 0 ? `, ${c.logRecordsNotStored} log records not stored` : ''}\n`,
  );
  return ExitCodes.OK;
}
