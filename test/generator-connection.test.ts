// One virtual user's connection, through HttpSession against real loopback servers: each user has
// its own keep-alive connection, the first request claims the connection's set-up phases, and once
// a socket is set up nothing of the set-up stays attached to it (every idle user holds one socket,
// so whatever stays is paid once per user).
import diagnosticsChannel from 'node:diagnostics_channel';
import dns from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSession, type RequestObserver, type RequestOutcome } from '../generator/http-session.ts';

const TEST_CERT = new URL('../demo/fixtures/localhost-cert.pem', import.meta.url);
const TEST_KEY = new URL('../demo/fixtures/localhost-key.pem', import.meta.url);

function recorder(): { observer: RequestObserver; outcomes: RequestOutcome[] } {
  const outcomes: RequestOutcome[] = [];
  return { outcomes, observer: { begin: () => ({ headers: undefined, finish: (o) => outcomes.push(o) }) } };
}

/** The client sockets undici wrote requests on, in order (from its own diagnostics channel). */
const written: net.Socket[] = [];
const onSendHeaders = (message: unknown): void => {
  written.push((message as { socket: net.Socket }).socket);
};

interface Target {
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}

async function listen(server: http.Server | https.Server, host: string, scheme: string): Promise<Target> {
  let connections = 0;
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  req.resume();
  req.on('end', () => res.end('ok'));
};

/** The set-up listeners our connector adds; none of them may outlive the set-up. */
function setupListeners(socket: net.Socket): Record<string, number> {
  return {
    lookup: socket.listenerCount('lookup'),
    connect: socket.listenerCount('connect'),
    secureConnect: socket.listenerCount('secureConnect'),
    // undici's own error listener stays; ours must be gone.
    error: socket.listenerCount('error'),
  };
}

describe('a virtual user connection', () => {
  let plain: Target;
  beforeAll(async () => {
    diagnosticsChannel.subscribe('undici:client:sendHeaders', onSendHeaders);
    plain = await listen(http.createServer({ keepAliveTimeout: 60_000 }, handler), '127.0.0.1', 'http');
  });
  afterAll(async () => {
    diagnosticsChannel.unsubscribe('undici:client:sendHeaders', onSendHeaders);
    await plain.close();
  });

  it('is one keep-alive connection per user: opened by its first request, reused by the next, never shared', async () => {
    const before = plain.connections();
    const a = recorder();
    const b = recorder();
    const alice = new HttpSession({ baseUrl: plain.url, observer: a.observer });
    const bob = new HttpSession({ baseUrl: plain.url, observer: b.observer });
    try {
      for (let i = 0; i < 3; i++) await alice.get('/a');
      for (let i = 0; i < 2; i++) await bob.get('/b');
      // Interleaved, each still on its own connection.
      await Promise.all([alice.get('/a'), bob.get('/b')]);
      expect(a.outcomes.map((o) => o.status)).toEqual([200, 200, 200, 200]);
      expect(a.outcomes.map((o) => o.reused)).toEqual([false, true, true, true]);
      expect(b.outcomes.map((o) => o.reused)).toEqual([false, true, true]);
      expect(plain.connections() - before).toBe(2);
      // Only the opening request carries the set-up; an IP literal is never looked up.
      const [opener, next] = a.outcomes as [RequestOutcome, RequestOutcome];
      expect(opener.phases.connect).toBeGreaterThan(0);
      expect(opener.phases.dns).toBe(0);
      expect(next.phases.connect).toBe(0);
      expect(opener.serverAddress).toBe('127.0.0.1');
      const socket = written.at(-1) as net.Socket;
      expect(setupListeners(socket)).toEqual({ lookup: 0, connect: 0, secureConnect: 0, error: 1 });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('closes the connection after a newConnection request, and after abort() the user opens a new one', async () => {
    const before = plain.connections();
    const r = recorder();
    const user = new HttpSession({ baseUrl: plain.url, observer: r.observer });
    try {
      await user.get('/');
      await user.get('/', { newConnection: true });
      await user.get('/');
      user.abort();
      await user.get('/');
      expect(r.outcomes.map((o) => o.reused)).toEqual([false, true, false, false]);
      expect(plain.connections() - before).toBe(3);
    } finally {
      await user.close();
    }
  });

  it('looks a host name up in the dns phase', async () => {
    // Listening on the address localhost resolves to first: the one the connector tries first.
    const first = await dns.lookup('localhost').catch(() => undefined);
    if (first === undefined) {
      console.warn('skipped the dns-phase check: localhost does not resolve on this machine');
      return;
    }
    const named = await listen(http.createServer(handler), first.address, 'http');
    const port = new URL(named.url).port;
    const r = recorder();
    const user = new HttpSession({ baseUrl: `http://localhost:${port}`, observer: r.observer });
    try {
      await user.get('/');
      await user.get('/');
      const [opener, next] = r.outcomes as [RequestOutcome, RequestOutcome];
      expect(opener.failure).toBeUndefined();
      expect(opener.phases.dns).toBeGreaterThan(0);
      expect(opener.phases.connect).toBeGreaterThan(0);
      expect(next.reused).toBe(true);
      expect(next.phases.dns).toBe(0);
      expect(setupListeners(written.at(-1) as net.Socket)).toEqual({ lookup: 0, connect: 0, secureConnect: 0, error: 1 });
    } finally {
      await user.close();
      await named.close();
    }
  });

  it('times the TLS handshake of the opening request and keeps the TLS connection alive', async () => {
    const secure = await listen(https.createServer({ key: readFileSync(TEST_KEY), cert: readFileSync(TEST_CERT), keepAliveTimeout: 60_000 }, handler), '127.0.0.1', 'https');
    const r = recorder();
    const user = new HttpSession({ baseUrl: secure.url, observer: r.observer, rejectUnauthorized: false });
    try {
      await user.get('/');
      await user.get('/');
      const [opener, next] = r.outcomes as [RequestOutcome, RequestOutcome];
      expect(opener.status).toBe(200);
      expect(opener.phases.tls).toBeGreaterThan(0);
      expect(next.reused).toBe(true);
      expect(next.phases.tls).toBe(0);
      expect(secure.connections()).toBe(1);
      expect(setupListeners(written.at(-1) as net.Socket)).toEqual({ lookup: 0, connect: 0, secureConnect: 0, error: 1 });
    } finally {
      await user.close();
      await secure.close();
    }
  });

  it('refuses a self-signed certificate unless told otherwise, as a failed request with no response', async () => {
    const secure = await listen(https.createServer({ key: readFileSync(TEST_KEY), cert: readFileSync(TEST_CERT) }, handler), '127.0.0.1', 'https');
    const r = recorder();
    const user = new HttpSession({ baseUrl: secure.url, observer: r.observer });
    try {
      const response = await user.get('/');
      expect(response.status).toBe(0);
      expect(r.outcomes[0]?.failure).toMatch(/certificate/i);
      expect(r.outcomes[0]?.reused).toBe(false);
      expect(r.outcomes[0]?.phases.tls).toBeGreaterThan(0);
    } finally {
      await user.close();
      await secure.close();
    }
  });

  it('reports a refused connection in the connect phase, and the user can go on', async () => {
    const gone = await listen(http.createServer(handler), '127.0.0.1', 'http');
    await gone.close();
    const r = recorder();
    const user = new HttpSession({ baseUrl: gone.url, observer: r.observer });
    try {
      await user.get('/');
      await user.get('/');
      for (const outcome of r.outcomes) {
        expect(outcome.status).toBe(0);
        expect(outcome.errorType).toBe('ECONNREFUSED');
        expect(outcome.reused).toBe(false);
        expect(outcome.phases.connect).toBeGreaterThan(0);
      }
      expect(r.outcomes).toHaveLength(2);
    } finally {
      await user.close();
    }
  });
});
