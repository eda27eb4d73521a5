// A recording pass-through for OTLP/HTTP: forwards every request unchanged to the real receiver
// and remembers its path and Content-Encoding, so a test sees the headers a real sender (the
// Collector) used.
import http from 'node:http';
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
