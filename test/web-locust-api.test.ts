// Locust's web API, driven over plain HTTP the way Locust documents it (form posts to /swarm,
// /stop, /stats/reset; JSON from /stats/requests; the CSV downloads), against `firstspan run`
// serving its web UI. Where real Locust is installed (scripts/install-locust.sh) the same calls
// go to a real Locust too, and the JSON keys of both answers must be the same.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { tempDir, writeScript } from './helpers/generator-harness.ts';
import { LOCUST_BIN, LOCUSTFILES, locustAvailability } from './helpers/locust-peer.ts';
import { startTargetService, type TargetService } from './helpers/target-service.ts';
import { startWebRun, until, type WebRun } from './helpers/web-ui.ts';

interface StatsRequests {
  stats: Array<Record<string, unknown> & { name: string; method: string | null; num_requests: number; num_failures: number }>;
  errors: Array<Record<string, unknown>>;
  state: string;
  user_count: number;
  [key: string]: unknown;
}

const form = (fields: Record<string, string | number>): URLSearchParams => new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]));
const post = async (url: string, fields?: Record<string, string | number>): Promise<Response> => fetch(url, { method: 'POST', body: fields === undefined ? undefined : form(fields) });
const statsOf = async (base: string): Promise<StatsRequests> => (await (await fetch(`${base}stats/requests`)).json()) as StatsRequests;
const aggregate = (s: StatsRequests) => s.stats.find((r) => r.name === 'Aggregated');

let target: TargetService;
let dir: { dir: string; remove: () => void };
let web: WebRun;
let apiScript: string;
const locust = locustAvailability();
if (!locust.ok) console.warn(`web-locust-api: the comparison with real Locust is skipped: ${locust.detail}`);

beforeAll(async () => {
  dir = tempDir('firstspan-web-api-');
  target = await startTargetService();
  const script = (apiScript = writeScript(
    dir.dir,
    'api.ts',
    `import { HttpUser, task, constant } from 'firstspan';
     export class Api extends HttpUser {
       override waitTime = constant(0.02);
       @task(3) async ok() { await this.client.get('/ok'); }
       @task async broken() { await this.client.get('/broken?status=503', { name: '/broken' }); }
     }`,
  ));
  // No --host: as in Locust, the host comes with the /swarm form.
  web = await startWebRun([script], {}, dir.dir);
});

afterAll(async () => {
  await web?.quit().catch(() => undefined);
  await target?.close();
  dir?.remove();
});

describe("Locust's web API", () => {
  it('says so, with exit code 2, when the web port is taken', async () => {
    const port = new URL(web.url).port;
    const r = await runCli(['run', apiScript, '--web-port', port], { cwd: dir.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}.*--web-port`));
  });

  it('starts with POST /swarm, reports /stats/requests with Locust keys, changes users, resets, serves the CSVs, stops', async () => {
    const idle = await statsOf(web.url);
    expect(idle.state).toBe('ready');
    expect(idle.user_count).toBe(0);

    // A bad form is refused as Locust refuses it: 200 with success false and a message.
    const bad = (await (await post(`${web.url}swarm`, { user_count: 'many', spawn_rate: 1 })).json()) as { success: boolean; message: string };
    expect(bad.success).toBe(false);
    expect(bad.message).toMatch(/user_count/);

    const started = (await (await post(`${web.url}swarm`, { user_count: 4, spawn_rate: 100, host: target.url })).json()) as Record<string, unknown>;
    expect(started).toMatchObject({ success: true, message: 'Swarming started', host: target.url });

    const running = await until('four users and 200 requests', async () => {
      const s = await statsOf(web.url);
      const total = aggregate(s);
      return s.user_count === 4 && s.state === 'running' && (total?.num_requests ?? 0) >= 200 ? s : undefined;
    });
    const ok = running.stats.find((r) => r.name === '/ok');
    const broken = running.stats.find((r) => r.name === '/broken');
    expect(ok?.method).toBe('GET');
    expect(ok?.num_failures).toBe(0);
    expect(broken?.num_failures).toBe(broken?.num_requests);
    const total = aggregate(running);
    expect(total?.method).toBe('');
    expect(total?.num_requests).toBe((ok?.num_requests ?? 0) + (broken?.num_requests ?? 0));
    for (const key of ['median_response_time', 'avg_response_time', 'min_response_time', 'max_response_time', 'avg_content_length', 'current_rps', 'current_fail_per_sec', 'total_rps', 'response_time_percentile_0.95', 'response_time_percentile_0.99']) {
      expect(typeof ok?.[key], key).toBe('number');
    }
    expect(ok?.avg_content_length).toBeGreaterThan(0);
    expect(running.fail_ratio as number).toBeGreaterThan(0);
    expect(running.fail_ratio as number).toBeLessThan(1);
    expect(running.errors).toContainEqual(expect.objectContaining({ method: 'GET', name: '/broken', error: 'HTTP 503' }));
    expect(Object.keys(running.current_response_time_percentiles as object).sort()).toEqual(['response_time_percentile_0.5', 'response_time_percentile_0.95']);

    // POST /swarm while running changes the user count (Locust's "edit running test").
    const changed = (await (await post(`${web.url}swarm`, { user_count: 1, spawn_rate: 100 })).json()) as { success: boolean };
    expect(changed.success).toBe(true);
    await until('one user left', async () => ((await statsOf(web.url)).user_count === 1 ? true : undefined));

    const csv = await fetch(`${web.url}stats/requests/csv`);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment/);
    const csvLines = (await csv.text()).trim().split('\n');
    expect(csvLines[0]).toBe('Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%');
    expect(csvLines[csvLines.length - 1]).toMatch(/^,Aggregated,\d+,/);
    const failures = (await (await fetch(`${web.url}stats/failures/csv`)).text()).trim().split('\n');
    expect(failures[0]).toBe('Method,Name,Error,Occurrences,First Seen,Last Seen');
    expect(failures[1]).toMatch(/^GET,\/broken,HTTP 503,\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,\d{4}-/);

    // Reset: the counts start again from zero (they grow again at once, from far below).
    const before = aggregate(await statsOf(web.url))?.num_requests ?? 0;
    const reset = await post(`${web.url}stats/reset`);
    expect(await reset.text()).toBe('ok');
    expect(aggregate(await statsOf(web.url))?.num_requests ?? Infinity).toBeLessThan(before);


    const stopped = (await (await post(`${web.url}stop`)).json()) as Record<string, unknown>;
    expect(stopped).toEqual({ success: true, message: 'Test stopped' });
    const after = await statsOf(web.url);
    expect(after.state).toBe('stopped');
    expect(after.user_count).toBe(0);

    // Quitting prints the last test's table, as a headless run does.
    const result = await web.quit();
    expect(result.stdout).toMatch(/Aggregated/);
    // The exit code follows the last test's stats, as after a headless run.
    expect(result.code).toBe((aggregate(after)?.num_failures ?? 0) > 0 ? 1 : 0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('the same calls against real Locust', () => {
  it.skipIf(!locust.ok)('give the same JSON keys at the top, in each stats row and in each error', async () => {
    const port = await freePort();
    const child = spawn(LOCUST_BIN, ['-f', LOCUSTFILES.tightGet, '--web-host', '127.0.0.1', '--web-port', String(port), '--skip-log-setup'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir.dir });
    const url = `http://127.0.0.1:${port}/`;
    try {
      await until('Locust web UI', async () => ((await fetch(url)).ok ? true : undefined), 60_000);
      const started = (await (await post(`${url}swarm`, { user_count: 1, spawn_rate: 1, host: `${target.url}/maybe?status=503&` })).json()) as Record<string, unknown>;
      expect(started.success).toBe(true);
      const theirs = await until('Locust stats with a failure', async () => {
        const s = await statsOf(url);
        return (aggregate(s)?.num_failures ?? 0) > 0 && s.errors.length > 0 ? s : undefined;
      });
      await post(`${url}stop`);

      // Ours, with a failing request too.
      const second = await startWebRun([writeScript(dir.dir, 'keys.ts', `import { HttpUser, task, constant } from 'firstspan';\nexport class K extends HttpUser { override waitTime = constant(0.05); @task async t() { await this.client.get('/k?status=503', { name: '/k' }); } }\n`)], {}, dir.dir);
      try {
        await post(`${second.url}swarm`, { user_count: 1, spawn_rate: 1, host: target.url });
        const ours = await until('our stats with a failure', async () => {
          const s = await statsOf(second.url);
          return (aggregate(s)?.num_failures ?? 0) > 0 ? s : undefined;
        });
        expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
        expect(Object.keys(ours.stats[0] as object).sort()).toEqual(Object.keys(theirs.stats[0] as object).sort());
        expect(Object.keys(ours.errors[0] as object).sort()).toEqual(Object.keys(theirs.errors[0] as object).sort());
        expect(Object.keys(ours.current_response_time_percentiles as object).sort()).toEqual(Object.keys(theirs.current_response_time_percentiles as object).sort());
        expect(aggregate(ours)?.method).toBe(aggregate(theirs)?.method);
        expect(ours.state).toBe(theirs.state === 'stopped' ? 'running' : theirs.state);
      } finally {
        await second.quit();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }, 120_000);
});

describe('--web-login', () => {
  it('asks for basic auth on the page and on the API, and lets the right login through', async () => {
    const guarded = await startWebRun([apiScript, '--web-login', 'tester:s3cret:with-colon'], {}, dir.dir);
    try {
      const basic = (login: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(login).toString('base64')}` });
      const anonymous = await fetch(guarded.url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="firstspan"/);
      expect((await fetch(`${guarded.url}stats/requests`, { headers: basic('tester:wrong') })).status).toBe(401);
      expect((await fetch(`${guarded.url}swarm`, { method: 'POST', body: form({ user_count: 1, spawn_rate: 1, host: target.url }) })).status).toBe(401);
      const page = await fetch(guarded.url, { headers: basic('tester:s3cret:with-colon') });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form id="swarm"');
      const stats = (await (await fetch(`${guarded.url}stats/requests`, { headers: basic('tester:s3cret:with-colon') })).json()) as StatsRequests;
      expect(stats.state).toBe('ready');
    } finally {
      await guarded.quit();
    }
  });
});
