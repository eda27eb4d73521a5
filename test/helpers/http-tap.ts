// Recording pass-throughs for OTLP/HTTP and OTLP/gRPC: each forwards every request unchanged to
// the real receiver and remembers its Content-Encoding (or grpc-encoding), so a test sees the
// headers a real sender (the Collector) used.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface Tap {
  url: string;
  seen: { path: string; encoding: string }[];
  close(): Promise<void>;
}

/** Forwards every request to `target` unchanged and remembers path and Content-Encoding. */
export async function startTap(target: string): Promise<Tap> {
  const seen: { path: string; encoding: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', encoding: String(req.headers['content-encoding'] ?? 'identity') });
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'content-encoding']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      fetch(new URL(req.url ?? '/', target), { method: req.method, headers, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface GrpcTap {
  /** host:port, as gRPC clients take it. */
  address: string;
  /** The grpc-encoding header of every call seen ('identity' when absent). */
  encodings: string[];
  close(): Promise<void>;
}

/** The same for OTLP/gRPC: an HTTP/2 pass-through that remembers each call's grpc-encoding. */
export async function startGrpcTap(target: string): Promise<GrpcTap> {
  const encodings: string[] = [];
  const upstream = http2.connect(`http://${target}`);
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    encodings.push(String(headers['grpc-encoding'] ?? 'identity'));
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') || name === ':method' || name === ':path') forward[name] = value;
    }
    const call = upstream.request(forward);
    stream.pipe(call);
    call.on('response', (answer) => {
      // A trailers-only answer (an error status) carries grpc-status in its headers and ends there.
      if (answer['grpc-status'] !== undefined) {
        stream.respond(answer, { endStream: true });
        return;
      }
      let trailers: http2.IncomingHttpHeaders = {};
      call.on('trailers', (t) => (trailers = t));
      stream.respond(answer, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      call.pipe(stream);
    });
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    encodings,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        server.close(() => resolve());
      }),
  };
}
