// `firstspan run` as a black box: the real binary, real target, scripts in a directory outside the
// repo. Exit codes, the table, --json, --csv, bad input, task errors, catchResponse, shapes, Ctrl-C.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from './helpers/cli.ts';
import { fileURLToPath } from 'node:url';
import { tempDir, writeScript, type Summary } from './helpers/generator-harness.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
import { startTargetService, type TargetService } from './helpers/target-service.ts';

let target: TargetService;
let dir: string;
let remove: () => void;

beforeAll(async () => {
  target = await startTargetService();
  ({ dir, remove } = tempDir());
});
afterAll(async () => {
  await target.close();
  remove();
});

function script(name: string, source: string): string {
  return writeScript(dir, name, source);
}

const MIXED = `
import { HttpUser, task } from 'firstspan';
export class Mixed extends HttpUser {
  @task async ok() {
    await this.client.get('/ok');
    await this.client.get('/missing?status=404', { name: '/missing' });
  }
}
`;

describe('exit codes through the real binary', () => {
  it('0 when every request succeeded, with the stats table on stdout', async () => {
    const file = script('ok.ts', `import { HttpUser, task } from 'firstspan';
      export class Fine extends HttpUser { @task async t() { await this.client.get('/fine'); } }`);
    const r = await runCli(['run', file, '--host', target.url, '-u', '2', '-r', '50', '-i', '10', '--headless'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Type\s+Name\s+# reqs\s+# fails \|\s+Avg\s+Min\s+Max\s+Med\s+p90\s+p99 \|\s+req\/s\s+failures\/s/m);
    expect(r.stdout).toMatch(/^GET\s+\/fine\s+10\s+0\(0\.00%\)/m);
    expect(r.stdout).toMatch(/^\s+Aggregated\s+10\s+0\(0\.00%\)/m);
    expect(r.stderr).toMatch(/run id \d{8}-\d{6}-[0-9a-f]{6}/);
  });

  it('1 when some request failed, with the error report', async () => {
    const r = await runCli(['run', script('mixed.ts', MIXED), '--host', target.url, '-i', '3'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^GET\s+\/missing\s+3\s+3\(100\.00%\)/m);
    expect(r.stdout).toMatch(/^3\s+GET \/missing: HTTP 404$/m);
  });

  it('2 for bad flags, listing every problem at once', async () => {
    const r = await runCli(['run', 'x.ts', '-u', 'many', '-r', '0', '-t', 'soon', '--host', 'ftp://x', '--worker-index', '3', '--worker-count', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('6 problems');
    for (const flag of ['-u/--users', '-r/--spawn-rate', '-t/--run-time', '-H/--host', '--worker-index', '--worker-count needs --run-id']) expect(r.stderr).toContain(flag);
    // Flags and OTEL_* variables in one list.
    const withEnv = await runCli(['run', 'x.ts', '-u', 'many', '--otel'], { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' } });
    expect(withEnv.code).toBe(2);
    expect(withEnv.stderr).toContain('2 problems'); // the protocol once, though traces and metrics both read it
    expect(withEnv.stderr).toContain('-u/--users');
    expect(withEnv.stderr).toContain('carrier-pigeon');
    const unknown = await runCli(['run', 'x.ts', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
  });

  it('2 for a script that does not load, naming file and line', async () => {
    const bad = script('syntax.ts', `import { HttpUser } from 'firstspan';\nexport class A extends HttpUser {\n  t( {\n}\n`);
    const r1 = await runCli(['run', bad, '--host', target.url, '-i', '1']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`cannot load script ${bad}:5`);
    expect(r1.stderr).toContain('FS_ERR_SCRIPT_LOAD');
    const throws = script('throws.js', `import { HttpUser } from 'firstspan';\n\nthrow new Error('no config');\n`);
    const r2 = await runCli(['run', throws, '--host', target.url, '-i', '1']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`${throws}:3`);
    expect(r2.stderr).toContain('no config');
    const syntaxJs = script('broken.js', `export const a = 1;\nconst b = ;\n`);
    const r3 = await runCli(['run', syntaxJs, '--host', target.url, '-i', '1']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`${syntaxJs}:2`);
  });

  it('2 for a script without user class, without tasks, or without host', async () => {
    const none = await runCli(['run', script('none.ts', 'export const nothing = 1;\n'), '--host', target.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exports no user class');
    // A class that would be one, but is not exported, is pointed at by file and line.
    const hidden = script('hidden.ts', `import { HttpUser, task } from 'firstspan';\n\nclass Shopper extends HttpUser {\n  @task async t() {}\n}\nexport class Helper {}\n`);
    const notExported = await runCli(['run', hidden, '--host', target.url]);
    expect(notExported.code).toBe(2);
    expect(notExported.stderr).toContain(`${hidden}: exports no user class`);
    expect(notExported.stderr).toContain(`${hidden}:3: class Shopper extends HttpUser but is not exported`);
    expect(notExported.stderr).toContain(`${hidden}:6: class Helper is exported but extends nothing`);
    const noTasks = await runCli(['run', script('notasks.ts', `import { HttpUser } from 'firstspan';\nexport class Idle extends HttpUser {}\n`), '--host', target.url]);
    expect(noTasks.code).toBe(2);
    expect(noTasks.stderr).toContain('user class Idle has no tasks');
    const noHost = await runCli(['run', script('nohost.ts', `import { HttpUser, task } from 'firstspan';\nexport class H extends HttpUser { @task async t() {} }\n`), '-i', '1']);
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toContain('no host for user class H');
    const missing = await runCli(['run', path.join(dir, 'absent.ts'), '--host', target.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('script not found');
  });
});

describe('scripts', () => {
  it('counts a task that throws as a failure under its name and goes on; plain JS with static tasks and weights', async () => {
    const file = script(
      'plain.js',
      `import { HttpUser, constant } from 'firstspan';
       export class Plain extends HttpUser {
         static tasks = [['fetch', 3], 'explode'];
         waitTime = constant(0);
         async fetch() { await this.client.get('/plain'); }
         async explode() { await this.client.get('/before-throw'); throw new TypeError('bad data'); }
       }`,
    );
    const prefix = path.join(dir, 'out', 'throws');
    const r = await runCli(['run', file, '--host', target.url, '-i', '40', '--json', '--csv', prefix], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    const task = s.requests.find((e) => e.method === 'TASK' && e.name === 'explode');
    expect(task?.count).toBeGreaterThan(0);
    expect(task?.failures).toBe(task?.count);
    expect(s.failures).toContainEqual(expect.objectContaining({ method: 'TASK', name: 'explode', error: 'TypeError: bad data' }));
    expect(s.exceptions[0]?.message).toBe('TypeError: bad data');
    const fetched = s.requests.find((e) => e.name === '/plain');
    const before = s.requests.find((e) => e.name === '/before-throw');
    // The run went on after each exception: every iteration ran one task.
    expect((fetched?.count ?? 0) + (before?.count ?? 0)).toBe(40);
    expect(before?.count).toBe(task?.count);
    expect(fetched?.failures).toBe(0);
    // The CSV files say the same: the task's row and its exception with the traceback.
    expect(readFileSync(`${prefix}_stats.csv`, 'utf8')).toMatch(new RegExp(`^TASK,explode,${task?.count},${task?.count},`, 'm'));
    const exceptions = readFileSync(`${prefix}_exceptions.csv`, 'utf8');
    expect(exceptions).toMatch(/^Count,Message,Traceback,Nodes\n/);
    expect(exceptions).toMatch(new RegExp(`^${task?.count},TypeError: bad data,"TypeError: bad data\\n\\s+at `, 'm'));
    expect(readFileSync(`${prefix}_failures.csv`, 'utf8')).toContain(`TASK,explode,TypeError: bad data,${task?.count}`);
  });

  it('lets catchResponse turn a 200 into a failure and a 404 into a success', async () => {
    const file = script(
      'catch.ts',
      `import { HttpUser, task } from 'firstspan';
       export class Judge extends HttpUser {
         @task async t() {
           const ok = await this.client.get('/judged', { catchResponse: true });
           if ((ok.json() as { ok: boolean }).ok) ok.failure('content says ok, we wanted not ok');
           const nf = await this.client.get('/gone?status=404', { name: '/gone', catchResponse: true });
           if (nf.status === 404) nf.success();
           await this.client.get('/undecided?status=500', { name: '/undecided', catchResponse: true });
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', target.url, '-i', '2', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    const byName = Object.fromEntries(s.requests.map((e) => [e.name, e]));
    expect(byName['/judged']).toMatchObject({ count: 2, failures: 2 });
    expect(byName['/gone']).toMatchObject({ count: 2, failures: 0 });
    // No verdict: the default rule applies when the task ends.
    expect(byName['/undecided']).toMatchObject({ count: 2, failures: 2 });
    expect(s.failures).toContainEqual(expect.objectContaining({ name: '/judged', error: 'content says ok, we wanted not ok', occurrences: 2 }));
  });

  it('counts connection errors when the target is down, without crashing', async () => {
    const file = script('down.ts', `import { HttpUser, task } from 'firstspan';\nexport class D extends HttpUser { @task async t() { await this.client.get('/x'); } }\n`);
    const r = await runCli(['run', file, '--host', 'http://127.0.0.1:9', '-u', '2', '-i', '6', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.total).toMatchObject({ count: 6, failures: 6 });
    expect(s.failures[0]?.error).toContain('ECONNREFUSED');
  });

  it('counts a hanging response (timeout) and a reset connection as failures and goes on', async () => {
    const file = script(
      'faults.ts',
      `import { HttpUser, task } from 'firstspan';
       export class Faulty extends HttpUser {
         @task async t() {
           await this.client.get('/slow?hang=1', { name: '/hang', timeout: 300 });
           await this.client.get('/boom?reset=1', { name: '/reset' });
           await this.client.get('/fine-after');
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', target.url, '-i', '2', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    const byName = Object.fromEntries(s.requests.map((e) => [e.name, e]));
    expect(byName['/hang']).toMatchObject({ count: 2, failures: 2 });
    expect(byName['/reset']).toMatchObject({ count: 2, failures: 2 });
    expect(byName['/fine-after']).toMatchObject({ count: 2, failures: 0 });
    expect(s.failures.find((f) => f.name === '/hang')?.error).toContain('UND_ERR_HEADERS_TIMEOUT');
  });

  it('runs onStart and onStop once per user and follows a load shape until it returns null', async () => {
    const file = script(
      'shape.ts',
      `import { HttpUser, LoadTestShape, task, constant } from 'firstspan';
       export class Life extends HttpUser {
         override waitTime = constant(0.05);
         override async onStart() { await this.client.post('/login'); }
         override async onStop() { await this.client.post('/logout'); }
         @task async t() { await this.client.get('/work'); }
       }
       // Steps by call (at the start, then once a second), so they do not hang on when ticks land;
       // getRunTime() is read to prove it counts up.
       export class Steps extends LoadTestShape {
         calls = 0;
         override tick() {
           this.calls += 1;
           if (this.calls === 1) return { users: 2, spawnRate: 100 };
           if (this.calls <= 3) return [4, 100] as [number, number];
           return this.getRunTime() > 0 ? null : { users: 0, spawnRate: 1 };
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', target.url, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('shape');
    expect(s.peakUsers).toBe(4);
    const byName = Object.fromEntries(s.requests.map((e) => [e.name, e.count]));
    expect(byName['/login']).toBe(4);
    expect(byName['/logout']).toBe(4);
    expect(byName['/work']).toBeGreaterThan(0);
  });

  it('stops at --run-time', async () => {
    const file = script('loop.ts', `import { HttpUser, task, constant } from 'firstspan';\nexport class L extends HttpUser { override waitTime = constant(0.1); @task async t() { await this.client.get('/loop'); } }\n`);
    const r = await runCli(['run', file, '--host', target.url, '-t', '1s', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('run-time');
    expect(s.total.count).toBeGreaterThan(0);
  });

  it('on Ctrl-C stops the users, prints the summary and exits by the failure rule', async () => {
    const file = script('forever.ts', `import { HttpUser, task, constant } from 'firstspan';\nexport class F extends HttpUser { override waitTime = constant(0.05); @task async t() { await this.client.get('/forever'); } }\n`);
    const child = spawnCli(['run', file, '--host', target.url, '-u', '2', '--json'], {}, dir);
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('run id')) setTimeout(() => child.kill('SIGINT'), 500);
    });
    const r = await collect(child, 30_000);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('interrupted');
    expect(r.stderr).toContain('interrupted');
  });
});

describe('connections per user', () => {
  it('keeps one connection per user alive across its requests, or opens one per request when asked', async () => {
    const file = script('conn.ts', `import { HttpUser, task } from 'firstspan';\nexport class C extends HttpUser { @task async t() { await this.client.get('/conn'); await this.client.get('/conn2'); } }\n`);
    const before = target.connections;
    const seenBefore = target.requests.length;
    const r = await runCli(['run', file, '--host', target.url, '-u', '3', '-r', '100', '-i', '30'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(target.connections - before).toBe(3);
    const ports = new Set(target.requests.slice(seenBefore).map((q) => q.remotePort));
    expect(ports.size).toBe(3);

    const before2 = target.connections;
    const r2 = await runCli(['run', file, '--host', target.url, '-u', '2', '-r', '100', '-i', '5', '--connection-per-request'], { cwd: dir });
    expect(r2.code, r2.stderr).toBe(0);
    expect(target.connections - before2).toBe(10);
  });
});

describe('the shipped example', () => {
  it('runs examples/ecommerce_shopper.ts (imports firstspan through the package exports) as the seed describes', async () => {
    const example = path.join(REPO_ROOT, 'examples', 'ecommerce_shopper.ts');
    const r = await runCli(['run', example, '--host', target.url, '-u', '2', '-r', '100', '-i', '2', '--json'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    const counts = Object.fromEntries(s.requests.map((e) => [`${e.method} ${e.name}`, e.count]));
    expect(counts).toEqual({ 'POST /authenticate': 2, 'GET /product/{product_id}': 8, 'POST /cart/add': 8, 'POST /checkout/confirm': 2 });
  });
});

describe('reports', () => {
  it('writes Locust-style CSV files and a JSON summary', async () => {
    const prefix = path.join(dir, 'out', 'run1');
    const r = await runCli(['run', script('csv.ts', MIXED), '--host', target.url, '-u', '2', '-r', '100', '-i', '8', '--csv', prefix, '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout) as Summary & { schemaVersion: number; durationSeconds: number };
    expect(s.schemaVersion).toBe(1);
    expect(s.total).toMatchObject({ count: 16, failures: 8 });
    // With --json the table goes to stderr, so stdout stays parseable.
    expect(r.stderr).toMatch(/Aggregated/);

    const stats = readFileSync(`${prefix}_stats.csv`, 'utf8').trim().split('\n');
    expect(stats[0]).toBe(
      'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%',
    );
    expect(stats).toHaveLength(4);
    expect(stats[1]).toMatch(/^GET,\/missing,8,8,/);
    expect(stats[2]).toMatch(/^GET,\/ok,8,0,/);
    expect(stats[3]).toMatch(/^,Aggregated,16,8,/);
    const cols = (stats[3] as string).split(',');
    expect(cols).toHaveLength(22);
    // Median <= p90 <= max, all in ms.
    expect(Number(cols[4])).toBeLessThanOrEqual(Number(cols[15]));
    expect(Number(cols[15])).toBeLessThanOrEqual(Number(cols[7]));

    const failures = readFileSync(`${prefix}_failures.csv`, 'utf8').trim().split('\n');
    expect(failures).toEqual(['Method,Name,Error,Occurrences', 'GET,/missing,HTTP 404,8']);
    const history = readFileSync(`${prefix}_stats_history.csv`, 'utf8').trim().split('\n');
    expect(history[0]).toMatch(/^Timestamp,User Count,Type,Name,Requests\/s,Failures\/s,50%,/);
    const last = (history[history.length - 1] as string).split(',');
    expect(last[3]).toBe('Aggregated');
    expect(last[17]).toBe('16');
    expect(existsSync(`${prefix}_exceptions.csv`)).toBe(true);
  });
});

describe('--processes', () => {
  it('ends a worker whose share of the iteration cap is 0 at once, instead of respawning users forever', async () => {
    const file = script('one-iteration.ts', `import { HttpUser, task } from 'firstspan';\nexport class One extends HttpUser { @task async t() { await this.client.get('/one-iteration'); } }\n`);
    const r = await runCli(['run', file, '--host', target.url, '-u', '2', '-i', '1', '--processes', '2', '--json'], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.stopReason).toBe('iterations');
    expect(s.total.count).toBe(1);
  });

  it('merges the workers per-second history exactly: its last row is the final aggregate, not the slower worker', async () => {
    // Worker 0's user makes three fast requests per iteration, worker 1's one request held 200 ms:
    // 30 fast and 10 slow in all, so the merged median is a fast one while worker 1's own median is
    // >= 200 ms (what taking the highest worker's percentile per second reported).
    const file = script(
      'by-worker.ts',
      `import { HttpUser, task } from 'firstspan';
       export class ByWorker extends HttpUser {
         @task async t() {
           if (this.context.userId % 2 === 0) for (let i = 0; i < 3; i++) await this.client.get('/fast');
           else await this.client.get('/slow?delay=200', { name: '/slow' });
         }
       }`,
    );
    const prefix = path.join(dir, 'out', 'procs');
    const r = await runCli(['run', file, '--host', target.url, '-u', '2', '-r', '100', '-i', '20', '--processes', '2', '--csv', prefix, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    const counts = Object.fromEntries(s.requests.map((e) => [e.name, e.count]));
    expect(counts).toEqual({ '/fast': 30, '/slow': 10 });

    const aggregate = (readFileSync(`${prefix}_stats.csv`, 'utf8').trim().split('\n').pop() as string).split(',');
    const history = readFileSync(`${prefix}_stats_history.csv`, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const last = history[history.length - 1] as string[];
    // History columns: 6..16 percentiles 50%..100%, 17 total count, 18 failures, 19 median,
    // 20 average, 21 min, 22 max. Stats columns: 2 count, 4 median, 5 average, 6 min, 7 max, 11..21 percentiles.
    expect(last[17]).toBe('40');
    expect(last.slice(6, 17)).toEqual(aggregate.slice(11, 22));
    expect([last[19], last[21], last[22]]).toEqual([aggregate[4], aggregate[6], aggregate[7]]);
    expect(Number(last[20])).toBeCloseTo(Number(aggregate[5]), 3);
    expect(Number(last[6])).toBeLessThan(200); // merged median: a fast request
    expect(Number(last[10])).toBeGreaterThanOrEqual(200); // p90: a slow one
    // Every request lands in exactly one second's Requests/s, and the totals only grow.
    expect(history.reduce((sum, row) => sum + Number(row[4]), 0)).toBe(40);
    const totals = history.map((row) => Number(row[17]));
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    for (const row of history) expect(Number(row[1])).toBeLessThanOrEqual(2);
  });
});
