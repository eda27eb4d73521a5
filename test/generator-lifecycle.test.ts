// `firstspan run` through the real binary, for what a run does around its requests: Ctrl-C with
// telemetry on and with --processes, a second Ctrl-C, several machines splitting one run id with
// --worker-index/--worker-count, the live status line on a real terminal (a pty from util-linux
// `script`), user classes by weight with their own host, and the whole client API against an
// echo server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, collect, runCli, spawnCli, type CliResult } from './helpers/cli.ts';
import { clientSpansOfRun, type Stack, startStack, type Summary, writeScript } from './helpers/generator-harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

function script(name: string, source: string): string {
  return writeScript(stack.dir, name, source);
}

/** Start a run, wait until the target has seen at least `requests` requests to `path` from
 *  each of the users `users` (by user id), send SIGINT. */
async function interruptAfter(args: string[], path: string, requests: number, users: number[], env: Record<string, string> = {}, signal: NodeJS.Signals = 'SIGINT'): Promise<CliResult> {
  const before = stack.target.requests.length;
  const child = spawnCli(args, env, stack.dir);
  const result = collect(child, 60_000);
  const seen = (user: number): number => stack.target.requests.slice(before).filter((q) => q.path === `${path}/${user}`).length;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (users.every((u) => seen(u) >= requests) || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  child.kill(signal);
  return result;
}

const FOREVER = (path: string): string => `import { HttpUser, task, constant } from 'firstspan';
export class Visitor extends HttpUser {
  override waitTime = constant(0.02);
  @task async t() { await this.client.get('${path}/' + this.context.userId, { name: '${path}' }); }
  override async onStop() { await this.client.post('/logout', { name: '/logout' }); }
}
`;

describe('Ctrl-C', () => {
  it('stops the users (each runs onStop), flushes every span to the collector and prints the summary', async () => {
    const file = script('ctrl-c-otel.ts', FOREVER('/until-ctrl-c'));
    const r = await interruptAfter(['run', file, '--host', stack.target.url, '-u', '2', '-r', '100', '--otel', '--run-id', 'ctrl-c-otel', '--json'], '/until-ctrl-c', 5, [0, 1], stack.otelEnv);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('interrupted');
    expect(r.stderr).toContain('interrupted: stopping users and flushing telemetry');
    expect(r.stderr).toMatch(/Aggregated/); // the table (on stderr with --json)
    const byName = Object.fromEntries(s.requests.map((e) => [e.name, e.count]));
    expect(byName['/logout']).toBe(2);
    expect(byName['/until-ctrl-c']).toBeGreaterThanOrEqual(10);
    // Every request's span, counted or cut off by the stop, was exported before the exit, and the
    // receiver holds them all.
    const spans = s.total.count + s.cutOff;
    expect(s.telemetry).toMatchObject({ spansEnded: spans, spansExported: spans, spansDropped: 0, spansFailed: 0 });
    expect(clientSpansOfRun(stack.receiver, 'ctrl-c-otel')).toHaveLength(spans);
  });

  it('with --processes, reaches every worker once: each stops, reports, and the parent prints one merged summary', async () => {
    const file = script('ctrl-c-procs.ts', FOREVER('/until-ctrl-c-procs'));
    const r = await interruptAfter(['run', file, '--host', stack.target.url, '-u', '4', '-r', '100', '--processes', '2', '--json'], '/until-ctrl-c-procs', 3, [0, 1, 2, 3]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('interrupted');
    const byName = Object.fromEntries(s.requests.map((e) => [e.name, e.count]));
    // Four users in two processes, each ran its onStop: the SIGINT reached both workers.
    expect(byName['/logout']).toBe(4);
    expect(s.peakUsers).toBe(4);
    expect(r.stderr).toMatch(/\[worker 0\][^\n]*interrupted/);
    expect(r.stderr).toMatch(/\[worker 1\][^\n]*interrupted/);
  });

  it('SIGTERM (a container stopping) is a graceful stop too, and a failed request still gives exit 1', async () => {
    const file = script('sigterm.ts', FOREVER('/until-sigterm').replace("{ name: '/logout' }", "{ name: '/logout', params: { status: '500' } }"));
    const r = await interruptAfter(['run', file, '--host', stack.target.url, '-u', '1', '--json'], '/until-sigterm', 3, [0], {}, 'SIGTERM');
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('interrupted');
    expect(s.requests.find((e) => e.name === '/logout')).toMatchObject({ count: 1, failures: 1 });
  });

  it('a second Ctrl-C leaves at once with exit code 130', async () => {
    // onStop hangs (the target never answers, and onStop may take up to 10 s), so the graceful
    // stop is still running when the second SIGINT arrives.
    const file = script(
      'ctrl-c-twice.ts',
      `import { HttpUser, task, constant } from 'firstspan';
       export class Stuck extends HttpUser {
         override waitTime = constant(0.02);
         @task async t() { await this.client.get('/twice'); }
         override async onStop() { await this.client.get('/hang-on-stop?hang=1', { name: '/hang-on-stop' }); }
       }`,
    );
    const child = spawnCli(['run', file, '--host', stack.target.url, '-u', '1', '--headless'], {}, stack.dir);
    const result = collect(child, 60_000);
    let stderr = '';
    let sent = 0;
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (sent === 1 && stderr.includes('interrupted:')) {
        sent = 2;
        child.kill('SIGINT');
      }
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (stack.target.requests.some((q) => q.path === '/twice')) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    sent = 1;
    child.kill('SIGINT');
    const r = await result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).not.toMatch(/Aggregated/);
  });
});

describe('--worker-index / --worker-count', () => {
  it('lets two generators split the users and iterations of one run id, with user ids that never collide', async () => {
    const file = script(
      'split-workers.ts',
      `import { HttpUser, task, constant } from 'firstspan';
       export class Member extends HttpUser {
         override waitTime = constant(1);
         @task async t() { await this.client.get('/member/' + this.context.userId + '/' + this.context.runId, { name: '/member/{id}' }); }
       }`,
    );
    const common = ['run', file, '--host', stack.target.url, '-u', '5', '-r', '1000', '-i', '11', '--run-id', 'split-run', '--worker-count', '2', '--json'];
    const before = stack.target.requests.length;
    const [w0, w1] = await Promise.all([runCli([...common, '--worker-index', '0'], { cwd: stack.dir }), runCli([...common, '--worker-index', '1'], { cwd: stack.dir })]);
    expect(w0.code, w0.stderr).toBe(0);
    expect(w1.code, w1.stderr).toBe(0);
    // 5 users and 11 iterations over 2: the first worker takes the odd one of each.
    expect(w0.stderr).toMatch(/run id split-run · 3 users at [\d.]+\/s .* worker 1 of 2/);
    expect(w1.stderr).toMatch(/run id split-run · 2 users at [\d.]+\/s .* worker 2 of 2/);
    const s0 = JSON.parse(w0.stdout) as Summary;
    const s1 = JSON.parse(w1.stdout) as Summary;
    expect([s0.total.count, s1.total.count]).toEqual([6, 5]);
    expect([s0.runId, s1.runId]).toEqual(['split-run', 'split-run']);
    const ids = (index: number): Set<number> =>
      new Set(
        stack.target.requests
          .slice(before)
          .filter((q) => q.path.startsWith('/member/'))
          .map((q) => Number(q.path.split('/')[2]))
          .filter((id) => id % 2 === index),
      );
    // Worker I numbers its users I, I+2, I+4: every user started a task (a 1 s wait between
    // tasks leaves the iterations to all of them), and no id is used by both.
    expect([...ids(0)].sort()).toEqual([0, 2, 4]);
    expect([...ids(1)].sort()).toEqual([1, 3]);
    expect(stack.target.requests.slice(before).every((q) => !q.path.startsWith('/member/') || q.path.endsWith('/split-run'))).toBe(true);
  });
});

describe('-r/--spawn-rate', () => {
  it('starts users no faster than the spawn rate', async () => {
    // At 1 user/s the spawner starts one user at once and at most one more each second after;
    // the run ends at 1.5 s, before a third could start, however slow the machine (timers fire in
    // order). Ignoring the rate would start all 5 at once.
    const file = script('ramp.ts', `import { HttpUser, task, constant } from 'firstspan';\nexport class R extends HttpUser { override waitTime = constant(0.1); @task async t() { await this.client.get('/ramp'); } }\n`);
    const r = await runCli(['run', file, '--host', stack.target.url, '-u', '5', '-r', '1', '-t', '1500ms', '--json'], { cwd: stack.dir });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.peakUsers).toBeGreaterThanOrEqual(1);
    expect(s.peakUsers).toBeLessThanOrEqual(2);
    const fast = await runCli(['run', file, '--host', stack.target.url, '-u', '5', '-r', '1000', '-t', '1500ms', '--json'], { cwd: stack.dir });
    expect((JSON.parse(fast.stdout) as Summary).peakUsers).toBe(5);
  });
});

describe('a load shape with --processes', () => {
  it('splits the users the shape asks for between the workers, as -u is split', async () => {
    const file = script(
      'shape-procs.ts',
      `import { HttpUser, LoadTestShape, task, constant } from 'firstspan';
       export class Member extends HttpUser {
         override waitTime = constant(0.05);
         override async onStart() { await this.client.post('/shape-login'); }
         @task async t() { await this.client.get('/shape-work'); }
       }
       // By call, not by time, so the steps do not depend on when the ticks land: called at the
       // start, then once a second.
       export class TwoSteps extends LoadTestShape {
         calls = 0;
         override tick() {
           this.calls += 1;
           if (this.calls === 1) return { users: 2, spawnRate: 100 };
           if (this.calls <= 3) return [4, 100] as [number, number];
           return null;
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', stack.target.url, '--processes', '2', '--json'], { cwd: stack.dir });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('shape');
    expect(r.stderr).toContain('2 processes, users as the load shape says');
    // Four users in all (two in each worker), not four in each.
    expect(s.requests.find((e) => e.name === '/shape-login')?.count).toBe(4);
    expect(s.peakUsers).toBe(4);
  });
});

describe('user classes', () => {
  it('shares users between classes by weight, each on its own static host when --host is not given', async () => {
    const file = script(
      'weights.ts',
      `import { HttpUser, task, constant } from 'firstspan';
       export class Browser extends HttpUser {
         static override weight = 3;
         static override host = '${stack.target.url}';
         override waitTime = constant(1);
         @task async t() { await this.client.get('/browser/' + this.context.userId, { name: '/browser' }); }
       }
       export class Buyer extends HttpUser {
         static override host = '${stack.target.url}';
         override waitTime = constant(1);
         @task async t() { await this.client.get('/buyer/' + this.context.userId, { name: '/buyer' }); }
       }`,
    );
    const before = stack.target.requests.length;
    const r = await runCli(['run', file, '-u', '8', '-r', '1000', '-i', '8', '--json'], { cwd: stack.dir });
    expect(r.code, r.stderr).toBe(0);
    const users = (prefix: string): number => new Set(stack.target.requests.slice(before).filter((q) => q.path.startsWith(prefix)).map((q) => q.path)).size;
    expect([users('/browser/'), users('/buyer/')]).toEqual([6, 2]);
    expect((JSON.parse(r.stdout) as Summary).peakUsers).toBe(8);
  });
});

describe('live status line', () => {
  let haveScript = true;
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
  } catch {
    haveScript = false;
    console.warn('skipping the live status line test: util-linux `script` (to give the run a terminal) is not installed');
  }

  it.skipIf(!haveScript)('is rewritten in place on a terminal with elapsed, users, req/s and failures; --only-summary turns it off', async () => {
    const file = script('live.ts', `import { HttpUser, task, constant } from 'firstspan';\nexport class L extends HttpUser { override waitTime = constant(0.05); @task async t() { await this.client.get('/live'); await this.client.get('/live-missing?status=404', { name: '/live-missing' }); } }\n`);
    const onTerminal = async (extra: string[], runTime = '3s'): Promise<string> => {
      const command = [process.execPath, BIN, 'run', file, '--host', stack.target.url, '-u', '2', '-r', '100', '-t', runTime, ...extra].map((a) => `'${a}'`).join(' ');
      const r = await collect(spawnScript(command), 60_000);
      expect(r.code, r.stdout).toBe(1);
      return r.stdout;
    };
    const live = await onTerminal([]);
    // After at least two ticks: "0m01s  users 2  req/s N  requests N  failures N (50.0%)".
    const lines = [...live.matchAll(/\r\x1b\[2K(\dm\d\ds {2}users (\d+) {2}req\/s (\d+) {2}requests (\d+) {2}failures (\d+) \(([\d.]+)%\))/g)];
    expect(lines.length, live).toBeGreaterThanOrEqual(2);
    expect(lines[0]?.[1]).toMatch(/^0m01s/);
    expect(lines.some((l) => l[2] === '2' && Number(l[4]) > 0 && Number(l[5]) > 0), live).toBe(true);
    // The line is cleared before the table.
    expect(live).toMatch(/\r\x1b\[2K[^\r]*Type\s+Name/);
    // With --processes the parent shows the workers' figures summed (one user in each).
    const parent = await onTerminal(['--processes', '2'], '4s');
    const parentLines = [...parent.matchAll(/\r\x1b\[2K(\dm\d\ds {2}users (\d+) {2}req\/s (\d+) {2}requests (\d+) {2}failures (\d+) \(([\d.]+)%\))/g)];
    expect(parentLines.some((l) => l[2] === '2' && Number(l[4]) > 0 && Number(l[5]) > 0), parent).toBe(true);
    expect(parent).toMatch(/Aggregated/);
    expect(parent).not.toContain('{"progress"');
    const quiet = await onTerminal(['--only-summary'], '1500ms');
    expect(quiet).not.toMatch(/users \d+ {2}req\/s/);
    expect(quiet).toMatch(/Aggregated/);
  });
});

/** Run a shell command on a pseudo-terminal (util-linux `script`); its output is the terminal's. */
function spawnScript(command: string): ChildProcess {
  return spawn('script', ['-qfec', command, '/dev/null'], { cwd: stack.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the client API', () => {
  interface Seen {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
  }
  let echo: http.Server;
  let echoUrl: string;
  const seen: Seen[] = [];
  const connections: number[] = [];
  beforeAll(async () => {
    echo = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        connections.push(req.socket.remotePort ?? 0);
        // A body much larger than a socket buffer: the connection is reusable only once it is read.
        const big = req.url?.startsWith('/big') === true;
        res.writeHead(201, { 'content-type': 'application/json', 'x-echo': req.method ?? '' });
        res.end(big ? JSON.stringify({ pad: 'x'.repeat(1_000_000) }) : req.method === 'HEAD' ? undefined : JSON.stringify({ method: req.method, body }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    echo.closeAllConnections();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('sends every method (to --host over the class host) with json, body, headers and params; responses give status, headers, text() and json(); bodies are read', async () => {
    const file = script(
      'client-api.ts',
      `import { HttpUser, task } from 'firstspan';
       export class Api extends HttpUser {
         static override host = 'http://127.0.0.1:9'; // nothing listens there: --host must win
         @task async t() {
           const check = (ok: boolean, r: { failure(reason: string): void }, why: string) => { if (!ok) r.failure(why); };
           const p = await this.client.post('/items', { json: { a: 1 }, catchResponse: true });
           check(p.status === 201 && (p.json() as { body: string }).body === '{"a":1}' && p.headers['x-echo'] === 'POST', p, 'post echo');
           const u = await this.client.put('/items/1', { body: 'plain text', headers: { 'x-mine': 'yes' }, name: '/items/{id}', catchResponse: true });
           check(u.text().includes('plain text'), u, 'put text');
           await this.client.patch('/items/1', { json: [1, 2], name: '/items/{id}' });
           await this.client.delete('/items/1', { name: '/items/{id}', params: { hard: 'true' } });
           const h = await this.client.head('/items');
           await this.client.request('OPTIONS', '/items');
           await this.client.get('/big');
           const after = await this.client.get('/after-big', { catchResponse: true });
           check(after.ok && h.status === 201, after, 'after big');
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', echoUrl, '-i', '1', '--json'], { cwd: stack.dir });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const s = JSON.parse(r.stdout) as Omit<Summary, 'requests'> & { requests: Array<{ method: string; name: string; count: number; averageContentSize: number }> };
    expect(s.requests.map((e) => `${e.method} ${e.name} ${e.count}`).sort()).toEqual(
      ['DELETE /items/{id} 1', 'GET /after-big 1', 'GET /big 1', 'HEAD /items 1', 'OPTIONS /items 1', 'PATCH /items/{id} 1', 'POST /items 1', 'PUT /items/{id} 1'].sort(),
    );
    // The whole 1 MB body was read (and counted), and the connection served the next request.
    expect(s.requests.find((e) => e.name === '/big')?.averageContentSize).toBeGreaterThan(1_000_000);
    expect(new Set(connections).size).toBe(1);
    const by = (m: string): Seen | undefined => seen.find((q) => q.method === m);
    expect(by('POST')).toMatchObject({ url: '/items', body: '{"a":1}' });
    expect(by('POST')?.headers['content-type']).toBe('application/json');
    expect(by('PUT')).toMatchObject({ url: '/items/1', body: 'plain text' });
    expect(by('PUT')?.headers['x-mine']).toBe('yes');
    expect(by('PATCH')?.body).toBe('[1,2]');
    expect(by('DELETE')?.url).toBe('/items/1?hard=true');
    expect(by('OPTIONS')?.url).toBe('/items');
  });
});
