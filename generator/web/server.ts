// The web UI's HTTP side: the page and its assets (uPlot served from the package: no CDN, works
// offline), the server-sent event stream of updates, and Locust's web API (POST /swarm, /stop,
// /stats/reset; GET /stats/requests and its CSVs) with Locust 2.47's form fields and JSON keys.
// Built apart from listening (buildWebServer returns a fastify instance), as the receiver is.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { timingSafeEqual } from 'node:crypto';
import { parseDuration } from '../../cli/args.ts';
import { exceptionsCsv, summaryJson } from '../stats-report.ts';
import { currentSummary, failuresCsvWithTimes, requestsCsv, requestsJson } from './locust-api.ts';
import { renderPage, type PageConfig } from './page.ts';
import type { StatsFeed } from './stats-feed.ts';
import type { TestControl } from './test-control.ts';

export interface WebServerOptions {
  control: TestControl;
  feed: StatsFeed;
  page: PageConfig;
  login: { user: string; password: string } | undefined;
  /** The report file of a finished test, by run id (undefined until one is made). */
  reportFile: (runId: string) => string | undefined;
}

const require = createRequire(import.meta.url);
const asset = (specifier: string): string => readFileSync(require.resolve(specifier), 'utf8');
const own = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');

/** The page may load only its own files; the report (which carries inline script) lives in a
 *  sandboxed frame with its own policy. */
const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'";
const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; sandbox allow-scripts";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function attachment(reply: FastifyReply, type: string, name: string, body: string): FastifyReply {
  return reply.header('content-type', type).header('content-disposition', `attachment;filename=${name}`).send(body);
}

export function buildWebServer(o: WebServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { control, feed } = o;
  const assets: Record<string, { type: string; body: string }> = {
    'uplot.min.js': { type: 'text/javascript; charset=utf-8', body: asset('uplot/dist/uPlot.iife.min.js') },
    'uplot.min.css': { type: 'text/css; charset=utf-8', body: asset('uplot/dist/uPlot.min.css') },
    'app.js': { type: 'text/javascript; charset=utf-8', body: own('app.js') },
    'app.css': { type: 'text/css; charset=utf-8', body: own('app.css') },
  };

  if (o.login !== undefined) {
    const { user, password } = o.login;
    app.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 0 || !same(decoded.slice(0, colon), user) || !same(decoded.slice(colon + 1), password)) {
        await reply.code(401).header('www-authenticate', 'Basic realm="firstspan", charset="UTF-8"').send('login required\n');
      }
    });
  }
  // Locust's API takes HTML form posts (application/x-www-form-urlencoded).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/', async (_request, reply) => reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderPage(o.page)));
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const a = assets[request.params.name];
    if (a === undefined) return reply.code(404).send('no such asset\n');
    return reply.header('content-type', a.type).header('cache-control', 'no-cache').send(a.body);
  });

  app.get('/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const unsubscribe = feed.subscribe({ send: (event, data) => res.write(`event: ${event}\ndata: ${data}\n\n`), close: () => res.end() });
    // A comment now and then keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  app.post('/swarm', async (request: FastifyRequest, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    const users = Number(form.user_count);
    const spawnRate = Number(form.spawn_rate);
    if (form.user_count === undefined || form.spawn_rate === undefined || !Number.isFinite(users) || !Number.isFinite(spawnRate)) {
      return reply.send({ success: false, message: `Missing or invalid user_count or spawn_rate from /swarm request (got user_count=${String(form.user_count)}, spawn_rate=${String(form.spawn_rate)})`, host: control.host ?? null });
    }
    let runTimeMs: number | undefined;
    if (form.run_time !== undefined && form.run_time !== '') {
      runTimeMs = parseDuration(form.run_time);
      if (runTimeMs === undefined) return reply.send({ success: false, message: 'Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.', host: control.host ?? null });
    }
    // As Locust does with the host field: no markup characters, ever.
    const host = form.host === undefined ? undefined : form.host.replace(/[<>]/g, '').trim();
    const wasRunning = control.running;
    const result = await control.swarm({ users, spawnRate, host, runTimeMs });
    if (result.success && !wasRunning) feed.testStarted();
    feed.broadcast('state');
    return reply.send({ ...result, host: result.host ?? null, ...(runTimeMs !== undefined && result.success ? { run_time: runTimeMs / 1000 } : {}) });
  });

  app.post('/stop', async (_request, reply) => {
    await control.stop();
    return reply.send({ success: true, message: 'Test stopped' });
  });

  app.post('/stats/reset', async (_request, reply) => {
    control.resetStats();
    feed.reset();
    return reply.header('content-type', 'text/html; charset=utf-8').send('ok');
  });

  app.get('/stats/requests', async (_request, reply) => reply.send(requestsJson(control, feed.window)));
  app.get('/stats/requests/csv', async (_request, reply) => attachment(reply, 'text/csv', `firstspan_${control.runId}_requests.csv`, requestsCsv(control)));
  app.get('/stats/failures/csv', async (_request, reply) => attachment(reply, 'text/csv', `firstspan_${control.runId}_failures.csv`, failuresCsvWithTimes(control)));
  app.get('/exceptions/csv', async (_request, reply) => attachment(reply, 'text/csv', `firstspan_${control.runId}_exceptions.csv`, exceptionsCsv(currentSummary(control))));
  app.get('/exceptions', async (_request, reply) =>
    reply.send({ exceptions: [...control.stats.exceptions.values()].map((e) => ({ count: e.count, msg: e.message, traceback: e.traceback, nodes: 'local' })) }),
  );
  // firstspan's own: the --json summary of the current test, and the live gap.
  app.get('/stats/json', async (_request, reply) =>
    attachment(reply, 'application/json', `firstspan_${control.runId}.json`, JSON.stringify(summaryJson(currentSummary(control)), null, 2) + '\n'),
  );
  app.get('/gap', async (_request, reply) => reply.send(feed.gapSnapshot()));
  app.get<{ Querystring: { run?: string } }>('/report', async (request, reply) => {
    const runId = request.query.run ?? feed.report.runId ?? control.runId;
    const file = o.reportFile(runId);
    if (file === undefined) return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send(`no report for run ${runId} (yet)\n`);
    return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', REPORT_CSP).send(readFileSync(file, 'utf8'));
  });
  return app;
}
