// Starting the receiver when a listener cannot bind (receiver/start.ts), over real sockets: the
// error names the listener, the address as a URL writes it and the system's reason; a database
// file the failed start created is removed with its -wal and -shm, one that was there is kept
// with its spans; the other listener is closed again; an error that is not about binding passes
// through as it is.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenError, startReceiver } from '../receiver/start.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { spanCount } from './helpers/stored-spans.ts';

let dir: string;
let held: Server;
let heldPort: number;

function listen(host: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

const portOf = (s: Server): number => (s.address() as { port: number }).port;
const close = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-start-'));
  held = await listen('127.0.0.1');
  heldPort = portOf(held);
});

afterAll(async () => {
  await close(held);
  rmSync(dir, { recursive: true, force: true });
});

async function failure(start: Promise<unknown>): Promise<Error> {
  try {
    await start;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the receiver started');
}

describe('a receiver that cannot listen', () => {
  it('names the HTTP listener, its address and why, and leaves no database file it created', async () => {
    const db = join(dir, 'new.db');
    const error = await failure(startReceiver({ db, port: heldPort }));
    expect(error).toBeInstanceOf(ListenError);
    expect(error.message).toBe(`cannot listen for OTLP/HTTP on 127.0.0.1:${heldPort}: the port is taken (EADDRINUSE)`);
    expect(error).toMatchObject({ name: 'ListenError', transport: 'OTLP/HTTP', address: `127.0.0.1:${heldPort}`, code: 'EADDRINUSE' });
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    for (const suffix of ['', '-wal', '-shm', '-journal']) expect(existsSync(db + suffix), `${db}${suffix}`).toBe(false);
  });

  it('keeps a database that was there, with its spans', async () => {
    const db = join(dir, 'kept.db');
    const first = await startReceiver({ db, port: 0 });
    expect((await post(first.url, '/v1/traces', tracesProtobuf([oracleSpan(), oracleSpan()]), PROTO)).status).toBe(200);
    await first.close();
    const error = await failure(startReceiver({ db, port: heldPort }));
    expect(error).toBeInstanceOf(ListenError);
    expect(existsSync(db)).toBe(true);
    expect(spanCount(db)).toBe(2);
  });

  it('names the gRPC listener and its port when that one cannot bind, and frees the HTTP port again', async () => {
    const free = await listen('127.0.0.1');
    const httpPort = portOf(free);
    await close(free);
    const error = await failure(startReceiver({ db: join(dir, 'grpc.db'), port: httpPort, grpcPort: heldPort }));
    expect(error).toMatchObject({ transport: 'OTLP/gRPC', address: `127.0.0.1:${heldPort}`, code: 'EADDRINUSE' });
    expect(error.message).toBe(`cannot listen for OTLP/gRPC on 127.0.0.1:${heldPort}: the port is taken (EADDRINUSE)`);
    // The HTTP listener that did bind was closed: its port can be taken at once.
    await close(await listen('127.0.0.1', httpPort));
  });

  it('writes an IPv6 address in brackets', async (ctx) => {
    let v6: Server;
    try {
      v6 = await listen('::1');
    } catch (error) {
      ctx.skip(`no IPv6 loopback here: ${(error as Error).message}`);
      return;
    }
    try {
      const error = await failure(startReceiver({ db: join(dir, 'v6.db'), host: '::1', port: portOf(v6) }));
      expect(error).toMatchObject({ address: `[::1]:${portOf(v6)}`, code: 'EADDRINUSE' });
    } finally {
      await close(v6);
    }
  });

  it('says when the address is not one of this host\'s', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): on no host's interface, so binding fails at once.
    const error = await failure(startReceiver({ db: join(dir, 'nowhere.db'), host: '192.0.2.1', port: heldPort }));
    expect(error.message).toBe(`cannot listen for OTLP/HTTP on 192.0.2.1:${heldPort}: the address is not available here (EADDRNOTAVAIL)`);
  });

  it('lets an error that is not about binding through as it is', async () => {
    const db = join(dir, 'bad-port.db');
    const error = await failure(startReceiver({ db, port: 70_000 }));
    expect(error).not.toBeInstanceOf(ListenError);
    expect((error as NodeJS.ErrnoException).code).toBe('ERR_SOCKET_BAD_PORT');
    expect(existsSync(db)).toBe(false);
  });
});
