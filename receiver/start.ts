// Open the store, build both listeners, listen; close() undoes it in the safe order: stop
// accepting and finish in-flight requests (each commits before it answers), wait for the write
// queue to empty, then close the database. Used by `firstspan receive`, the demo and tests.
import { SpanStore } from '../model/store.ts';
import { buildGrpcReceiver, closeGrpc, listenGrpc } from './grpc-server.ts';
import { DEFAULT_MAX_BODY_BYTES, Ingest, type IngestOptions } from './ingest.ts';
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
}

export interface RunningReceiver {
  /** http://HOST:PORT with the real port. */
  url: string;
  /** HOST:PORT of the gRPC listener (no scheme, as gRPC clients take it), when it runs. */
  grpcUrl?: string;
  store: SpanStore;
  ingest: Ingest;
  close(): Promise<void>;
}

export async function startReceiver(options: StartOptions): Promise<RunningReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const store = SpanStore.open(options.db);
  const ingest = new Ingest(store, { ...options, maxBodyBytes });
  const app = buildReceiver({ ingest, token: options.token, maxBodyBytes, logger: options.quiet === false });
  const grpcServer =
    options.grpcPort === undefined || options.grpcPort === false
      ? undefined
      : buildGrpcReceiver({ ingest, token: options.token, maxBodyBytes });
  let grpcUrl: string | undefined;
  try {
    await app.listen({ host, port: options.port ?? 4318 });
    if (grpcServer !== undefined) {
      const port = await listenGrpc(grpcServer, host, options.grpcPort as number);
      grpcUrl = `${hostForUrl(host)}:${port}`;
    }
  } catch (error) {
    await app.close();
    if (grpcServer !== undefined) grpcServer.forceShutdown();
    store.close();
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
    close() {
      closing ??= (async () => {
        await Promise.all([app.close(), grpcServer === undefined ? undefined : closeGrpc(grpcServer)]);
        await ingest.close();
        store.close();
      })();
      return closing;
    },
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
