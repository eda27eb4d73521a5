// Doubles that JSON numbers cannot carry — NaN, +Infinity, -Infinity — and -0.0 survive the whole
// path: sent over OTLP/HTTP as protobuf (IEEE bits) and as OTLP/JSON (the proto3 JSON mapping's
// "NaN", "Infinity", "-Infinity" strings; -0 as a number), stored, and read back from SQLite
// exactly, in span, event, resource and nested (array, kvlist) attributes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyValueToJs, type AnyValue } from '../model/otlp.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { JSON_TYPE, oracleSpan, post, PROTO } from './helpers/receiver-http.ts';
import { encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { spanJsonNamed } from './helpers/stored-spans.ts';

const VALUES: Record<string, number> = { nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, pzero: 0, tiny: 5e-324 };

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-lossless-'));
  receiver = await startReceiver({ db: join(dir, 'l.db'), port: 0 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Attributes in protobufjs object form: every value top-level, in an array and in a kvlist. */
function protoAttributes(): Record<string, unknown>[] {
  const entries = Object.entries(VALUES);
  return [
    ...entries.map(([key, v]) => ({ key, value: { doubleValue: v } })),
    { key: 'array', value: { arrayValue: { values: entries.map(([, v]) => ({ doubleValue: v })) } } },
    { key: 'kvlist', value: { kvlistValue: { values: entries.map(([key, v]) => ({ key, value: { doubleValue: v } })) } } },
  ];
}

/** The same attributes as OTLP/JSON text: non-finite doubles as strings, -0 as the number -0. */
function jsonAttributes(): string {
  const text = (v: number): string => (Number.isFinite(v) ? (Object.is(v, -0) ? '-0.0' : String(v)) : JSON.stringify(String(v)));
  const entries = Object.entries(VALUES);
  const kv = entries.map(([key, v]) => `{"key":"${key}","value":{"doubleValue":${text(v)}}}`);
  return `[${kv.join(',')},{"key":"array","value":{"arrayValue":{"values":[${entries.map(([, v]) => `{"doubleValue":${text(v)}}`).join(',')}]}}},{"key":"kvlist","value":{"kvlistValue":{"values":[${kv.join(',')}]}}}]`;
}

function stored(name: string): { span: Record<string, unknown>; event: Record<string, unknown>; resource: Record<string, unknown> } {
  const row = spanJsonNamed(receiver.store.path, name)!;
  const plain = (json: string): Record<string, unknown> =>
    Object.fromEntries(Object.entries(JSON.parse(json) as Record<string, AnyValue>).map(([k, v]) => [k, anyValueToJs(v)]));
  const events = JSON.parse(row.events!) as { attributes: Record<string, AnyValue> }[];
  return { span: plain(row.attributes), event: plain(JSON.stringify(events[0]!.attributes)), resource: plain(row.resourceAttributes) };
}

function expectExact(attributes: Record<string, unknown>): void {
  for (const [key, v] of Object.entries(VALUES)) expect(Object.is(attributes[key], v), `${key}: ${String(attributes[key])}`).toBe(true);
  const array = attributes.array as unknown[];
  Object.values(VALUES).forEach((v, i) => expect(Object.is(array[i], v), `array[${i}]`).toBe(true));
  const kvlist = attributes.kvlist as Record<string, unknown>;
  for (const [key, v] of Object.entries(VALUES)) expect(Object.is(kvlist[key], v), `kvlist.${key}`).toBe(true);
}

describe('non-finite and negative-zero doubles round-trip', () => {
  it('over OTLP/HTTP protobuf', async () => {
    const span = oracleSpan({ name: 'lossless-proto', attributes: protoAttributes(), events: [{ timeUnixNano: '1764000000123456790', name: 'e', attributes: protoAttributes() }] });
    const body = encodeWith(Oracle.TraceRequest, {
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'lossless' } }, ...protoAttributes()] }, scopeSpans: [{ scope: { name: 's' }, spans: [span] }] }],
    });
    const res = await post(receiver.url, '/v1/traces', body, PROTO);
    expect(res.status).toBe(200);
    const back = stored('lossless-proto');
    expectExact(back.span);
    expectExact(back.event);
    expectExact(back.resource);
  });

  /** The same span as OTLP/JSON, named `name` (span ids differ per name: each test stores its own). */
  async function postJson(name: string, spanId: string): Promise<void> {
    const body =
      `{"resourceSpans":[{"resource":{"attributes":${jsonAttributes()}},"scopeSpans":[{"scope":{"name":"s"},"spans":[{` +
      `"traceId":"5b8efff798038103d269b633813fc60c","spanId":"${spanId}","name":"${name}","kind":2,` +
      `"startTimeUnixNano":"1764000000123456789","endTimeUnixNano":"1764000000223456789","attributes":${jsonAttributes()},` +
      `"events":[{"timeUnixNano":"1764000000123456790","name":"e","attributes":${jsonAttributes()}}]}]}]}]}`;
    const res = await post(receiver.url, '/v1/traces', body, JSON_TYPE);
    expect(res.status, res.body.toString()).toBe(200);
  }

  it('over OTLP/JSON, with the proto3 JSON strings', async () => {
    await postJson('lossless-json', 'eee19b7ec3c1b174');
    const back = stored('lossless-json');
    expectExact(back.span);
    expectExact(back.event);
    expectExact(back.resource);
  });

  // Stands alone (it sends its own span): mutation testing runs each test by itself.
  it('stores them as OTLP/JSON writes them', async () => {
    await postJson('lossless-json-text', 'eee19b7ec3c1b175');
    const json = spanJsonNamed(receiver.store.path, 'lossless-json-text')!.attributes;
    const attrs = JSON.parse(json) as Record<string, { doubleValue: unknown }>;
    expect([attrs.nan, attrs.inf, attrs.ninf, attrs.nzero, attrs.pzero].map((v) => v?.doubleValue)).toEqual(['NaN', 'Infinity', '-Infinity', '-0', 0]);
  });
});
