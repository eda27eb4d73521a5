// Each OTLP/HTTP refusal word for word, over real HTTP on IPv4 and IPv6 loopback: the message a
// sender's operator reads in the google.rpc.Status (filled from its row in model/errors.ts with
// what the request actually sent), the headers that go with it (Allow, WWW-Authenticate, and
// Retry-After only on what may be retried), and the receiver's own log line naming the client by
// address and port. test/receiver-http.test.ts covers the status codes and the success paths.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../model/errors.ts';
import { CONTENT_ENCODINGS } from '../receiver/decoders/index.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { JSON_TYPE, oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';

const LIMIT = 1000;
const PATHS = '/v1/traces and /v1/metrics (and /v1/logs, not stored)';
let dir: string;
let v4: RunningReceiver;
let v6: RunningReceiver | undefined;
let v6Skip = '';
let open: RunningReceiver;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-refusals-'));
  // Each kind of refusal is logged the first time: a long interval keeps later ones quiet.
  v4 = await startReceiver({ db: join(dir, 'v4.db'), port: 0, maxBodyBytes: LIMIT, token: 's3cret', logRefusal: (l) => lines.push(l) });
  try {
    v6 = await startReceiver({ db: join(dir, 'v6.db'), port: 0, host: '::1', logRefusal: (l) => lines.push(l) });
  } catch (error) {
    v6Skip = `no IPv6 loopback here: ${(error as Error).message}`;
    console.warn(`receiver-http-refusals: skipping the IPv6 check: ${v6Skip}`);
  }
  // An empty token is no token: every request is taken.
  open = await startReceiver({ db: join(dir, 'open.db'), port: 0, token: '' });
});

afterAll(async () => {
  await v4.close();
  await v6?.close();
  await open.close();
  rmSync(dir, { recursive: true, force: true });
});

const AUTH = { authorization: 'Bearer s3cret' };

/** The JSON google.rpc.Status of a refusal: its message and ErrorInfo reason. */
function status(res: { headers: Record<string, unknown>; body: Buffer }): { message: string; reason: string } {
  expect(res.headers['content-type']).toBe('application/json');
  const s = JSON.parse(res.body.toString()) as { message: string; details: Array<{ reason: string }> };
  return { message: s.message, reason: s.details[0]?.reason ?? '' };
}

/** A request node:http sends as given: a path that is not valid percent-encoding, say. */
function rawPost(url: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'POST', headers: { ...JSON_TYPE, ...AUTH } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

function loggedWith(kind: string): string | undefined {
  return lines.find((l) => l.includes(` with ${kind}: `));
}

describe('OTLP/HTTP refusals, word for word', () => {
  it('405 names the method and the path, with Allow: POST and no Retry-After', async () => {
    const res = await post(v4.url, '/v1/metrics', '', { ...JSON_TYPE, ...AUTH }, 'DELETE');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.headers['retry-after']).toBeUndefined();
    expect(status(res)).toEqual({ message: 'DELETE is not allowed on /v1/metrics; use POST', reason: 'FS_ERR_OTLP_METHOD' });
  });

  it('404 names the path without its query, and the paths there are', async () => {
    const res = await post(v4.url, '/v1/spans?x=1', '{}', { ...JSON_TYPE, ...AUTH });
    expect(res.status).toBe(404);
    expect(status(res)).toEqual({ message: `no such path /v1/spans; OTLP/HTTP paths are ${PATHS}`, reason: 'FS_ERR_OTLP_NOT_FOUND' });
  });

  it('404 in the same shape for a path that is not even valid percent-encoding, and logs it', async () => {
    const res = await rawPost(v4.url, '/v1/traces%zz');
    expect(res.status).toBe(404);
    expect(status(res)).toEqual({ message: `no such path /v1/traces%zz; OTLP/HTTP paths are ${PATHS}`, reason: 'FS_ERR_OTLP_NOT_FOUND' });
    expect(v4.refusals.summary()).toMatch(/\d+ × HTTP 404 FS_ERR_OTLP_NOT_FOUND/);
  });

  it('401 names the header to send, with WWW-Authenticate: Bearer; an empty --token asks for none', async () => {
    const body = tracesProtobuf([oracleSpan()]);
    const res = await post(v4.url, '/v1/traces', body, { ...PROTO, authorization: 'Bearer s3cre' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['retry-after']).toBeUndefined();
    // A protobuf request gets a protobuf Status; its text is the registry's with the header named.
    expect(res.body.toString('latin1')).toContain('missing or wrong bearer token: send Authorization: Bearer <token>');
    expect((await post(open.url, '/v1/traces', body, PROTO)).status).toBe(200);
  });

  it('415 quotes the Content-Type sent (empty when none) and lists what is taken, in JSON', async () => {
    const none = await post(v4.url, '/v1/traces', Buffer.from([1, 2]), AUTH);
    expect(none.status).toBe(415);
    expect(status(none)).toEqual({ message: "unsupported Content-Type ''; use application/x-protobuf or application/json", reason: 'FS_ERR_OTLP_MEDIA_TYPE' });
    const text = await post(v4.url, '/v1/traces', 'x', { 'content-type': 'text/plain; charset=utf-8', ...AUTH });
    expect(status(text).message).toBe("unsupported Content-Type 'text/plain; charset=utf-8'; use application/x-protobuf or application/json");
  });

  it('415 quotes the Content-Encoding sent and lists the encodings taken', async () => {
    const res = await post(v4.url, '/v1/traces', '{}', { ...JSON_TYPE, ...AUTH, 'content-encoding': 'br' });
    expect(res.status).toBe(415);
    expect(status(res)).toEqual({
      message: errorMessage('FS_ERR_OTLP_MEDIA_TYPE', { header: 'Content-Encoding', value: 'br', supported: `one of ${CONTENT_ENCODINGS.join(', ')} or none` }),
      reason: 'FS_ERR_OTLP_MEDIA_TYPE',
    });
    expect(CONTENT_ENCODINGS).toEqual(expect.arrayContaining(['gzip', 'deflate', 'zstd', 'snappy', 'lz4']));
  });

  it('413 for a declared size over the limit names both sizes, before reading a byte, and is not retried', async () => {
    const res = await post(v4.url, '/v1/traces', Buffer.alloc(LIMIT + 1), { ...PROTO, ...AUTH });
    expect(res.status).toBe(413);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.body.toString('latin1')).toContain(`request body of ${LIMIT + 1} bytes is larger than the limit of ${LIMIT} bytes`);
    // Exactly at the limit is read (and here refused as bad protobuf, 400: it was read).
    expect((await post(v4.url, '/v1/traces', Buffer.alloc(LIMIT, 0xff), { ...PROTO, ...AUTH })).status).toBe(400);
  });

  it('logs the first refusal of each kind with the client\'s address and port', async () => {
    await post(v4.url, '/v1/metrics', '', { ...JSON_TYPE, ...AUTH }, 'PATCH');
    expect(loggedWith('HTTP 405 FS_ERR_OTLP_METHOD')).toMatch(/^firstspan receiver: refused a request from 127\.0\.0\.1:\d+ with HTTP 405 FS_ERR_OTLP_METHOD: [A-Z]+ is not allowed on \/v1\/metrics; use POST/);
  });

  it('names an IPv6 client in brackets', async (ctx) => {
    if (v6 === undefined) {
      ctx.skip(v6Skip);
      return;
    }
    const res = await post(v6.url, '/v1/nothing', '{}', JSON_TYPE);
    expect(res.status).toBe(404);
    expect(lines.some((l) => /refused a request from \[::1\]:\d+ with HTTP 404 FS_ERR_OTLP_NOT_FOUND: no such path \/v1\/nothing;/.test(l))).toBe(true);
  });
});
