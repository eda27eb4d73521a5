// Thousands of random, truncated and mutated bodies over real HTTP: every answer is a 200 (the
// bytes happened to be a valid request) or a 400 with a decodable google.rpc.Status, never a 5xx
// or a dropped connection, and the receiver still stores a good request afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { richJsonRequest, richOracleRequest } from './helpers/receiver-fixtures.ts';
import { JSON_TYPE, oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { decodeWith, encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { spanCountNamed } from './helpers/stored-spans.ts';

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-fuzz-'));
  receiver = await startReceiver({ db: join(dir, 'f.db'), port: 0 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

it('answers 3000 hostile bodies with 200 or 400 and stays up', async () => {
  const proto = encodeWith(Oracle.TraceRequest, richOracleRequest());
  const json = richJsonRequest();
  const counts: Record<number, number> = {};
  const bodies: [Buffer | string, Record<string, string>][] = [];
  for (let i = 0; i < 3000; i++) {
    const mode = i % 5;
    if (mode === 0) bodies.push([randomBytes(1 + (i % 300)), PROTO]);
    else if (mode === 1) bodies.push([proto.subarray(0, i % proto.length), PROTO]);
    else if (mode === 2) {
      const b = Buffer.from(proto);
      b[i % b.length] = (b[i % b.length]! + 1 + (i % 255)) & 0xff;
      bodies.push([b, PROTO]);
    } else if (mode === 3) bodies.push([json.slice(0, 1 + (i % (json.length - 1))), JSON_TYPE]);
    else bodies.push([randomBytes(1 + (i % 100)).toString('latin1'), JSON_TYPE]);
  }
  // Eight in flight at a time: enough concurrency to interleave, bounded in count.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const [body, headers] = bodies[next++]!;
      const res = await post(receiver.url, '/v1/traces', body, headers);
      counts[res.status] = (counts[res.status] ?? 0) + 1;
      if (res.status === 400) {
        const status =
          headers['content-type'] === 'application/json'
            ? (JSON.parse(res.body.toString()) as { message: string })
            : (decodeWith(Oracle.Status, res.body) as { message: string });
        expect(status.message).toMatch(/cannot decode/);
      } else expect(res.status).toBe(200);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  expect((counts[400] ?? 0) + (counts[200] ?? 0)).toBe(3000);
  expect(counts[400]).toBeGreaterThan(1500);
  const good = await post(receiver.url, '/v1/traces', tracesProtobuf([oracleSpan({ name: 'after-fuzz' })]), PROTO);
  expect(good.status).toBe(200);
  expect(spanCountNamed(receiver.store.path, 'after-fuzz')).toBe(1);
});
