// The demo shop from the seed's scenario, and the inventory service it calls.
//
//   shop       POST /authenticate, GET /product/:id, POST /cart/add, POST /checkout/confirm
//   inventory  GET /stock/:id, POST /reserve        (a second service, reached over HTTP)
//
// Every request is a SERVER span continued from the caller's traceparent; the shop's product and
// checkout handlers call the inventory (CLIENT span → inventory SERVER span → simulated DB query),
// so a load-test trace is four levels deep. Latencies are knobs, so a test or a demo can give the
// server a known, steady cost.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, type Context, type Tracer } from '@opentelemetry/api';
import { callService, inSpan, tracedListener, type Route } from './traced-http.ts';

export interface Latencies {
  /** Work every shop handler does itself, in ms. */
  shopMs: number;
  /** Each simulated database query (shop's cart table and inventory's stock table), in ms. */
  dbMs: number;
  /** Work every inventory handler does besides its query, in ms. */
  inventoryMs: number;
  /** Uniform random spread around each latency, 0..1 (0.2 = ±20 %). */
  jitter: number;
}

export const DEFAULT_LATENCIES: Latencies = { shopMs: 2, dbMs: 1, inventoryMs: 1, jitter: 0 };

export interface RunningService {
  url: URL;
  close(): Promise<void>;
}

function pause(ms: number, jitter: number): Promise<void> {
  const spread = jitter > 0 ? 1 + (Math.random() * 2 - 1) * jitter : 1;
  const wait = Math.max(0, ms * spread);
  return wait === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait));
}

function dbQuery<T>(tracer: Tracer, req: { context: Context }, statement: string, table: string, l: Latencies, result: () => T): Promise<T> {
  return inSpan(
    tracer,
    req.context,
    `${statement.split(' ')[0]} ${table}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'sqlite', 'db.collection.name': table, 'db.query.text': statement },
    },
    async () => {
      await pause(l.dbMs, l.jitter);
      return result();
    },
  );
}

function productId(raw: string | undefined): number {
  return Number(raw);
}

export function inventoryRoutes(tracer: Tracer, l: Latencies): Route[] {
  const reserved = new Map<number, number>();
  return [
    {
      method: 'GET',
      route: '/stock/:id',
      pattern: /^\/stock\/(\d+)$/,
      async handle(req) {
        await pause(l.inventoryMs, l.jitter);
        const id = productId(req.params[0]);
        const stock = await dbQuery(tracer, req, 'SELECT quantity FROM stock WHERE product_id = ?', 'stock', l, () =>
          Math.max(0, 100 - (reserved.get(id) ?? 0) % 100),
        );
        return { status: 200, json: { productId: id, stock } };
      },
    },
    {
      method: 'POST',
      route: '/reserve',
      pattern: /^\/reserve$/,
      async handle(req) {
        await pause(l.inventoryMs, l.jitter);
        const items = Array.isArray((req.body as { items?: unknown } | undefined)?.items)
          ? ((req.body as { items: unknown[] }).items.filter((i) => typeof i === 'number') as number[])
          : [];
        await dbQuery(tracer, req, 'UPDATE stock SET quantity = quantity - 1 WHERE product_id = ?', 'stock', l, () => {
          for (const id of items) reserved.set(id, (reserved.get(id) ?? 0) + 1);
        });
        return { status: 200, json: { reserved: items.length } };
      },
    },
  ];
}

export function shopRoutes(tracer: Tracer, l: Latencies, inventory: URL): Route[] {
  // Carts by session token; the demo's users are few and short-lived, so a Map is enough.
  const carts = new Map<string, number[]>();
  const tokenOf = (headers: http.IncomingHttpHeaders): string => {
    const auth = headers.authorization ?? '';
    const cookie = /(?:^|;\s*)session=([^;]+)/.exec(headers.cookie ?? '')?.[1];
    return auth.startsWith('Bearer ') ? auth.slice(7) : (cookie ?? 'anonymous');
  };
  let sessions = 0;
  return [
    {
      method: 'POST',
      route: '/authenticate',
      pattern: /^\/authenticate$/,
      async handle(req) {
        const user = (req.body as { user?: unknown } | undefined)?.user;
        if (typeof user !== 'string' || user === '') {
          return { status: 400, json: { error: 'body must be JSON with a "user" string' } };
        }
        await pause(l.shopMs, l.jitter);
        await dbQuery(tracer, req, 'SELECT password_hash FROM users WHERE name = ?', 'users', l, () => undefined);
        sessions += 1;
        const token = `s${process.pid}-${sessions}`;
        carts.set(token, []);
        return { status: 200, json: { token }, headers: { 'set-cookie': `session=${token}; Path=/; HttpOnly` } };
      },
    },
    {
      method: 'GET',
      route: '/product/:id',
      pattern: /^\/product\/(\d+)$/,
      async handle(req) {
        const id = productId(req.params[0]);
        await pause(l.shopMs, l.jitter);
        const stock = await callService(tracer, req.context, new URL(`/stock/${id}`, inventory), 'GET', '/stock/:id');
        if (stock.status !== 200) return { status: 502, json: { error: 'inventory unavailable' } };
        return {
          status: 200,
          json: { id, name: `Product ${id}`, price: (id % 97) + 0.99, stock: (stock.json as { stock: number }).stock },
        };
      },
    },
    {
      method: 'POST',
      route: '/cart/add',
      pattern: /^\/cart\/add$/,
      async handle(req) {
        const id = (req.body as { productId?: unknown } | undefined)?.productId;
        if (typeof id !== 'number') return { status: 400, json: { error: 'body must be JSON with a numeric "productId"' } };
        await pause(l.shopMs, l.jitter);
        const token = tokenOf(req.headers);
        const cart = await dbQuery(tracer, req, 'INSERT INTO cart_items (session, product_id) VALUES (?, ?)', 'cart_items', l, () => {
          const items = carts.get(token) ?? [];
          items.push(id);
          carts.set(token, items);
          return items;
        });
        return { status: 200, json: { items: cart.length } };
      },
    },
    {
      method: 'POST',
      route: '/checkout/confirm',
      pattern: /^\/checkout\/confirm$/,
      async handle(req) {
        await pause(l.shopMs, l.jitter);
        const token = tokenOf(req.headers);
        const items = carts.get(token) ?? [];
        const reserved = await callService(tracer, req.context, new URL('/reserve', inventory), 'POST', '/reserve', { items });
        if (reserved.status !== 200) return { status: 502, json: { error: 'inventory unavailable' } };
        await dbQuery(tracer, req, 'DELETE FROM cart_items WHERE session = ?', 'cart_items', l, () => carts.set(token, []));
        return { status: 200, json: { confirmed: true, items: items.length } };
      },
    },
  ];
}

/** Listen with a traced listener; resolves once the port is bound. */
export async function listen(
  tracer: Tracer,
  routes: Route[],
  port: number,
  host: string,
): Promise<RunningService> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, tracedListener(tracer, routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: new URL(`http://${shown}:${address.port}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from load-test users would hold close() open indefinitely.
        server.closeAllConnections();
      }),
  };
}
