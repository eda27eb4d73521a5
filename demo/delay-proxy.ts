// A TCP proxy that holds every NEW connection for a known time before it starts piping bytes to
// the target. It gives tests and `firstspan demo` a ground truth for connection set-up cost: the
// requests that opened a connection wait `connectDelayMs` longer than the ones that reused one.
//
// Why user space cannot delay the TCP handshake itself: the kernel answers the SYN before
// `accept()` returns, so the client's `connect` event fires at once. What this proxy delays is the
// moment the connection becomes useful (the first byte reaches the target), which is what a slow
// connection set-up (a far-away edge, a TLS terminator, a congested SYN queue) costs a user.
// Over plain TCP that moment is after the client's connect event, so the hold shows up as time to
// first byte. With `tls`, the proxy terminates TLS and answers the ClientHello only after the
// hold: the client's handshake cannot finish before that, so the hold lands inside its connection
// set-up (the TLS phase), where a slow set-up really belongs. With `holdHandshake`, the hold moves
// into the kernel (demo/handshake-hold.ts: each SYN to the proxy's port waits in an NFQUEUE queue),
// so it lands in the client's TCP connect phase itself; Linux and root only.
import net from 'node:net';
import tls from 'node:tls';
import { startHandshakeHold, type HandshakeHold } from './handshake-hold.ts';

export interface DelayProxyOptions {
  target: { host: string; port: number };
  /** Time each new connection is held before bytes flow to the target. */
  connectDelayMs: number;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  host?: string;
  /** Terminate TLS with this PEM key and certificate after the hold; plaintext goes to the target. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Hold each connection's SYN in the kernel instead of holding the accepted connection. */
  holdHandshake?: boolean;
}

export interface DelayProxy {
  port: number;
  host: string;
  /** Number of client connections accepted so far. */
  readonly connections: number;
  /**
   * How long each connection was really held, in ms, in the order the holds ended: from its
   * accept to the moment bytes could flow (upstream connected and, with `tls`, the handshake
   * done), plus the kernel's hold with `holdHandshake`. At least `connectDelayMs`; more when this
   * process's event loop ran the timer late, which a busy machine does. This, not the delay asked
   * for, is what the requests that opened these connections waited, so it is what their gap is
   * checked against.
   */
  readonly holds: readonly number[];
  /** Resolves, with handshake holding on, with the number of SYNs the kernel hold delayed. */
  close(): Promise<{ handshakesHeld?: number }>;
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const host = options.host ?? '127.0.0.1';
  const open = new Set<net.Socket>();
  const holds: number[] = [];
  let connections = 0;
  const secureContext = options.tls === undefined ? undefined : tls.createSecureContext({ key: options.tls.key, cert: options.tls.cert });
  // In handshake mode the kernel did the holding before the connection was accepted.
  const userSpaceHoldMs = options.holdHandshake === true ? 0 : options.connectDelayMs;
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    connections += 1;
    open.add(client);
    client.setNoDelay(true);
    let upstream: net.Socket | undefined;
    const closeBoth = (): void => {
      client.destroy();
      upstream?.destroy();
    };
    client.on('error', closeBoth);
    client.on('close', () => {
      open.delete(client);
      upstream?.destroy();
    });
    // Bytes the client sends meanwhile stay in the kernel buffer (the socket is paused), so the
    // request is intact when piping starts.
    // libuv times a timer from the loop's cached clock, which is stale if the loop was busy when
    // the connection arrived, so a plain setTimeout can fire early in real time. Re-arm for the
    // remainder until the hold has really lasted connectDelayMs.
    const acceptedAt = performance.now();
    let timer: NodeJS.Timeout;
    const hold = (ms: number, then: () => void): void => {
      timer = setTimeout(() => {
        const left = userSpaceHoldMs - (performance.now() - acceptedAt);
        if (left > 0) hold(left, then);
        else then();
      }, ms);
    };
    hold(userSpaceHoldMs, () => {
      if (client.destroyed) return;
      // The ClientHello waits in the kernel buffer until now; answering it is what ends the
      // client's handshake, so nothing before this point can let the client's TLS phase finish.
      const downstream = secureContext === undefined ? client : terminateTls(client, secureContext, closeBoth);
      // The kernel's hold (handshake mode) is as asked: it ends before the accept.
      const held = (): number => options.connectDelayMs - userSpaceHoldMs + (performance.now() - acceptedAt);
      // With TLS, the connection is of use once the handshake the hold delayed is done.
      if (downstream !== client) downstream.once('secure', () => holds.push(held()));
      upstream = net.connect({ host: options.target.host, port: options.target.port });
      upstream.setNoDelay(true);
      open.add(upstream);
      upstream.on('error', closeBoth);
      upstream.on('close', () => {
        open.delete(upstream as net.Socket);
        client.destroy();
      });
      upstream.once('connect', () => {
        downstream.pipe(upstream as net.Socket);
        (upstream as net.Socket).pipe(downstream);
        client.resume();
        if (downstream === client) holds.push(held());
      });
    });
    client.once('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  let handshakeHold: HandshakeHold | undefined;
  if (options.holdHandshake === true) {
    try {
      handshakeHold = await startHandshakeHold({ port: address.port, host, delayMs: options.connectDelayMs });
    } catch (error) {
      await new Promise((resolve) => server.close(resolve));
      throw error;
    }
  }
  return {
    port: address.port,
    host,
    get connections() {
      return connections;
    },
    holds,
    close: async () => {
      const handshakesHeld = await handshakeHold?.stop();
      await new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      });
      return handshakesHeld === undefined ? {} : { handshakesHeld };
    },
  };
}

/** Wrap an accepted (paused) socket as the server side of a TLS connection. */
function terminateTls(client: net.Socket, secureContext: tls.SecureContext, closeBoth: () => void): tls.TLSSocket {
  const secure = new tls.TLSSocket(client, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
  secure.on('error', closeBoth);
  secure.on('close', closeBoth);
  return secure;
}
