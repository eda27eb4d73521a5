// The delay-proxy scenario the ground-truth tests share: two users, four iterations each of /page,
// /fresh (on a new connection) and /after-fresh, run by the real binary with --otel through a proxy:
// 12 client spans, new and reused connections interleaved.
import { runCli } from './cli.ts';
import { clientSpansOfRun, type Stack, type StoredSpan, writeScript } from './generator-harness.ts';

export const PROXY_SCENARIO_REQUESTS = 12;
/** Per user: the first /page, and each /after-fresh (its /fresh closed the connection). */
export const PROXY_SCENARIO_OPENED = 2 + 4;
export const PROXY_SCENARIO_OPENERS = ['GET /page', 'GET /after-fresh'];

export interface ProxyScenario {
  clients: StoredSpan[];
  opened: StoredSpan[];
  reused: StoredSpan[];
}

export async function runThroughProxy(stack: Stack, runId: string, hostArgs: string[]): Promise<ProxyScenario> {
  const script = writeScript(
    stack.dir,
    `${runId}.ts`,
    `import { HttpUser, task } from 'firstspan';
     export class Visitor extends HttpUser {
       @task async page() {
         await this.client.get('/page');
         // Every third request asks for a new connection, so new and reused ones interleave.
         await this.client.get('/fresh', { newConnection: true });
         await this.client.get('/after-fresh');
       }
     }`,
  );
  const result = await runCli(['run', script, ...hostArgs, '-u', '2', '-r', '100', '-i', '4', '--otel', '--run-id', runId, '--json'], {
    env: stack.otelEnv,
    cwd: stack.dir,
  });
  if (result.code !== 0) throw new Error(`firstspan run exited ${result.code}\n${result.stderr}`);
  const clients = clientSpansOfRun(stack.receiver, runId);
  return {
    clients,
    opened: clients.filter((c) => c.connectionReused === 0),
    reused: clients.filter((c) => c.connectionReused === 1),
  };
}
