// A TCP proxy that holds every NEW connection for a known time before it starts piping bytes to
// the target. It gives tests and `firstspan demo` a ground truth for connection set-up cost: the
// requests that opened a connection wait `connectDelayMs` longer than the ones that reused one.
//
// Why user space cannot delay the TCP handshake itself: the kernel answers the SYN before
// `accept()` returns, so the client's `connect` event fires at once. What this proxy delays is the
// moment the connection becomes useful (the first byte reaches the target), which is what a slow
// connection set-up (a far-away edge, a TLS terminator, a congested SYN queue) costs a user.
import net from 'node:net';

export interface DelayProxyOptions {
  target: { host: string; port: number };
  /** Time each new connection is held before bytes flow to the target. */
  connectDelayMs: number;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  host?: string;
}

export interface DelayProxy {
  port: number;
  host: string;
  /** Number of client connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const host = options.host ?? '127.0.0.1';
  const open = new Set<net.Socket>();
  let connections = 0;
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
    const timer = setTimeout(() => {
      if (client.destroyed) return;
      upstream = net.connect({ host: options.target.host, port: options.target.port });
      upstream.setNoDelay(true);
      open.add(upstream);
      upstream.on('error', closeBoth);
      upstream.on('close', () => {
        open.delete(upstream as net.Socket);
        client.destroy();
      });
      upstream.once('connect', () => {
        client.pipe(upstream as net.Socket);
        (upstream as net.Socket).pipe(client);
        client.resume();
      });
    }, options.connectDelayMs);
    client.once('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    host,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
