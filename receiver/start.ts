// Open the store, build both listeners, listen; close() undoes it in the safe order: stop
// accepting and finish in-flight requests (each commits before it answers), wait for the write
// queue to empty, then close the database. Used by `firstspan receive`, the demo and tests.
import { existsSync, rmSync } from 'node:fs';
import { rowBuffers } from '../model/buffer-pool.ts';
import { SpanStore } from '../model/store.ts';
import { buildGrpcReceiver, listenGrpc, type GrpcListener } from './grpc-server.ts';
import { DEFAULT_MAX_BODY_BYTES, Ingest, type IngestOptions } from './ingest.ts';
import { RefusalLog } from './refusals.ts';
import { buildReceiver } from './server.ts';

export interface StartOptions extends IngestOptions {
  db: string;
  host?: string;
  /** OTLP/HTTP port; 0 picks a free one. Default 4318. */
  port?: number;
  /** OTLP/gRPC port; 0 picks a free one; false turns gRPC off. Default false here (the CLI's default is 4317). */
  grpcPort?: number | false;
  token?: string;
  maxBodyBytes?: number;
  /** fastify request logging off (it never logs bodies either way). Default true. */
  quiet?: boolean;
  /** Where refusal lines go (refusals.ts); refusals are counted either way. */
  logRefusal?: (line: string) => void;
}

export interface RunningReceiver {
  /** http://HOST:PORT with the real port. */
  url: string;
  /** HOST:PORT of the gRPC listener (no scheme, as gRPC clients take it), when it runs. */
  grpcUrl?: string;
  store: SpanStore;
  ingest: Ingest;
  /** Every refused request, by kind. */
  refusals: RefusalLog;
  close(): Promise<void>;
}

export async function startReceiver(options: StartOptions): Promise<RunningReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const created = !existsSync(options.db);
  const store = SpanStore.open(options.db);
  const ingest = new Ingest(store, { ...options, maxBodyBytes });
  const refusals = new RefusalLog({ log: options.logRefusal });
  const app = buildReceiver({ ingest, token: options.token, maxBodyBytes, logger: options.quiet === false, refusals });
  const grpcServer =
    options.grpcPort === undefined || options.grpcPort === false
      ? undefined
      : buildGrpcReceiver({ ingest, token: options.token, maxBodyBytes, refusals });
  let grpcUrl: string | undefined;
  let grpcListener: GrpcListener | undefined;
  let listening: ListenError['transport'] = 'OTLP/HTTP';
  try {
    await app.listen({ host, port: options.port ?? 4318 });
    if (grpcServer !== undefined) {
      listening = 'OTLP/gRPC';
      grpcListener = await listenGrpc(grpcServer, host, options.grpcPort as number);
      grpcUrl = `${hostForUrl(host)}:${grpcListener.port}`;
    }
  } catch (error) {
    await app.close();
    if (grpcServer !== undefined) grpcServer.forceShutdown();
    // The writer thread holds its own connection to the file: stop it before the file is removed,
    // or it may (re)create the file after the removal.
    await ingest.close();
    store.close();
    // A receiver that never listened leaves no database behind that it created.
    if (created) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(options.db + suffix, { force: true });
    const e = error as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && LISTEN_ERRORS.has(e.code)) {
      const port = listening === 'OTLP/HTTP' ? (options.port ?? 4318) : (options.grpcPort as number);
      throw new ListenError(listening, `${hostForUrl(host)}:${port}`, e.code, { cause: error });
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl(host)}:${port}`,
    grpcUrl,
    store,
    ingest,
    refusals,
    close() {
      closing ??= (async () => {
        await Promise.all([app.close(), grpcListener?.close()]);
        await ingest.close();
        store.close();
        rowBuffers.clear();
      })();
      return closing;
    },
  };
}

const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/** A listener could not bind: which one, where, and the system's error code. */
export class ListenError extends Error {
  readonly transport: 'OTLP/HTTP' | 'OTLP/gRPC';
  readonly address: string;
  readonly code: string;
  constructor(transport: 'OTLP/HTTP' | 'OTLP/gRPC', address: string, code: string, options?: { cause?: unknown }) {
    const why = code === 'EADDRINUSE' ? 'the port is taken' : code === 'EACCES' ? 'permission denied' : 'the address is not available here';
    super(`cannot listen for ${transport} on ${address}: ${why} (${code})`, options);
    this.name = 'ListenError';
    this.transport = transport;
    this.address = address;
    this.code = code;
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
