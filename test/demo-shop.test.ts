// The demo shop against the real receiver: every request continues the caller's trace as a SERVER
// span, the product and checkout handlers go one service deeper (inventory over HTTP), the latency
// knob is honoured, and the program starts, reports and stops as documented.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { DEFAULT_LATENCIES } from '../examples/shop/services.ts';
import { resolveShopOptions, startShop, type RunningShop } from '../examples/shop/shop.ts';
import { collect } from './helpers/cli.ts';
import { metricPointsOfService } from './helpers/stored-metrics.ts';
import { readStoredSpans, type StoredSpanRow } from './helpers/stored-spans.ts';

const SHOP_MAIN = fileURLToPath(new URL('../examples/shop/main.ts', import.meta.url));
const SERVER = 2;
const CLIENT = 3;

describe('demo shop', () => {
  let dir: string;
  let receiver: RunningReceiver;
  let shop: RunningShop;
  const sent: { traceId: string; parentId: string; method: string; path: string; status: number }[] = [];
  let exported = 0;
  let rows: StoredSpanRow[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-shop-'));
    receiver = await startReceiver({ db: path.join(dir, 'shop.db'), port: 0, grpcPort: false });
    shop = await startShop({
      port: 0,
      host: '127.0.0.1',
      inventoryPort: 0,
      latencies: { shopMs: 30, dbMs: 5, inventoryMs: 1, jitter: 0 },
      shopServiceName: 'shop',
      inventoryServiceName: 'inventory',
      exporter: 'otlp',
      resource: {},
      tracesUrl: `${receiver.url}/v1/traces`,
    });
    // The seed's scenario, one iteration, each request the root of its own trace as a load
    // generator would send it.
    const calls: [string, string, unknown][] = [
      ['POST', '/authenticate', { user: 'foo', password: 'bar' }],
      ['GET', '/product/42', undefined],
      ['POST', '/cart/add', { productId: 42 }],
      ['POST', '/checkout/confirm', undefined],
      ['POST', '/cart/add', { productId: 'not a number' }],
    ];
    let cookie = '';
    for (const [method, p, body] of calls) {
      const traceId = randomBytes(16).toString('hex');
      const parentId = randomBytes(8).toString('hex');
      const res = await fetch(new URL(p, shop.url), {
        method,
        headers: {
          traceparent: `00-${traceId}-${parentId}-01`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(cookie ? { cookie } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      await res.text();
      cookie ||= (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      sent.push({ traceId, parentId, method, path: p, status: res.status });
    }
    exported = (await shop.close()).exported;
    rows = readStoredSpans(receiver.store.path);
  });

  afterAll(async () => {
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("exports the process's runtime metrics under the shop's name (flushed at close)", () => {
    const points = metricPointsOfService(receiver.store.path, 'shop');
    const cpu = points.filter((p) => p.metric_name === 'process.cpu.utilization');
    const rss = points.filter((p) => p.metric_name === 'process.memory.usage');
    expect(cpu.length).toBeGreaterThan(0);
    for (const p of cpu) expect(p.value).toBeGreaterThanOrEqual(0);
    expect(rss.length).toBeGreaterThan(0);
    for (const p of rss) expect(p.value).toBeGreaterThan(1e6);
  });

  it('answers the seed scenario and rejects a bad body with 400', () => {
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 400]);
  });

  it('stores every exported span', () => {
    expect(exported).toBeGreaterThan(0);
    expect(rows).toHaveLength(exported);
  });

  it('continues each caller trace with a SERVER span whose parent is the caller span', () => {
    for (const s of sent) {
      const server = rows.filter((r) => r.kind === SERVER && r.service_name === 'shop' && r.trace_id.toString('hex') === s.traceId);
      expect(server, `${s.method} ${s.path}`).toHaveLength(1);
      expect(server[0]?.parent_span_id?.toString('hex')).toBe(s.parentId);
      const route = s.path.startsWith('/product/') ? '/product/:id' : s.path;
      expect(server[0]?.name).toBe(`${s.method} ${route}`);
      expect(JSON.parse(server[0]?.attributes ?? '{}')['http.response.status_code']).toBeDefined();
    }
  });

  it('goes a service deeper for a product: shop CLIENT → inventory SERVER → its DB query', () => {
    const product = sent[1];
    const inTrace = rows.filter((r) => r.trace_id.toString('hex') === product?.traceId);
    const shopServer = inTrace.find((r) => r.kind === SERVER && r.service_name === 'shop');
    const call = inTrace.find((r) => r.kind === CLIENT && r.service_name === 'shop' && r.parent_span_id?.equals(shopServer?.span_id ?? Buffer.alloc(0)));
    const inventory = inTrace.find((r) => r.kind === SERVER && r.service_name === 'inventory');
    const query = inTrace.find((r) => r.service_name === 'inventory' && r.kind === CLIENT);
    expect(call?.name).toBe('GET /stock/:id');
    expect(inventory?.parent_span_id?.equals(call?.span_id ?? Buffer.alloc(0))).toBe(true);
    expect(query?.parent_span_id?.equals(inventory?.span_id ?? Buffer.alloc(0))).toBe(true);
    expect(JSON.parse(query?.attributes ?? '{}')['db.system.name']).toBeDefined();
  });

  it('honours the latency knobs: a server span lasts at least the configured work', () => {
    const auth = rows.find((r) => r.kind === SERVER && r.name === 'POST /authenticate');
    // 30 ms of shop work + one 5 ms query; timers never fire early, so this bound cannot flake.
    expect(Number(auth === undefined ? 0n : auth.end_ns - auth.start_ns) / 1e6).toBeGreaterThanOrEqual(34);
  });
});

describe('demo shop options', () => {
  it('reads flags over environment over defaults', () => {
    const parsed = resolveShopOptions(['--port', '9090', '--latency', '0.5s'], { SHOP_DB_LATENCY_MS: '7', PORT: '1234' });
    expect('options' in parsed && parsed.options).toMatchObject({
      port: 9090,
      latencies: { shopMs: 500, dbMs: 7, inventoryMs: DEFAULT_LATENCIES.inventoryMs },
      shopServiceName: 'shop',
    });
  });

  it('lists every problem at once', () => {
    const parsed = resolveShopOptions(['--port', 'x', '--jitter', '3', '--nope'], {});
    expect('problems' in parsed && parsed.problems).toHaveLength(3);
  });
});

describe('demo shop program', () => {
  it('prints its URL, serves, and on SIGTERM flushes and says what it exported', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SHOP_MAIN, '--port', '0'], {
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = collect(child, 30_000);
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        const m = /listening on (http:\/\/\S+)/.exec(d.toString());
        if (m?.[1]) resolve(m[1]);
      });
      child.once('close', () => reject(new Error('shop exited before printing its URL')));
    });
    const res = await fetch(new URL('/product/1', url));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: number }).id).toBe(1);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/shop stopped \(SIGTERM\): 0 spans exported, 0 failed/);
  });

  it('exits 2 on a bad flag, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SHOP_MAIN, '--latency', 'soon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collect(child, 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--latency/);
  });
});
