// Artillery and Gatling for `npm run bench:peers`: installing them (each by its project script,
// idempotent), the command lines that run the bench's loop with them, and reading their request
// counts. Kept apart from peers.bench.ts, which measures whatever command it is given.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Availability {
  ok: boolean;
  /** The version on success, the reason otherwise. */
  detail: string;
}

function runScript(root: string, script: string): { ok: boolean; out: string } {
  const r = spawnSync('bash', [`${root}scripts/${script}`], { cwd: root, encoding: 'utf8', timeout: 20 * 60_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

// ---- Artillery ---------------------------------------------------------------------------------

export function artilleryBin(root: string): string {
  return `${process.env.FIRSTSPAN_ARTILLERY_DIR ?? `${root}.cache/artillery`}/node_modules/.bin/artillery`;
}

/** Installs Artillery into .cache/artillery when it is missing (scripts/install-artillery.sh). */
export function artilleryAvailability(root: string): Availability {
  const { ok, out } = runScript(root, 'install-artillery.sh');
  if (!ok || !existsSync(artilleryBin(root))) return { ok: false, detail: `scripts/install-artillery.sh failed: ${out.slice(-500)}` };
  const version = /artillery[ @]v?(\d+\.\d+\.\d+)/i.exec(out)?.[1];
  return { ok: true, detail: `Artillery ${version ?? ''}`.trim() };
}

export interface ArtilleryRun {
  targetUrl: string;
  users: number;
  seconds: number;
  /** OTLP/HTTP base URL of the receiver, for the traced run. */
  otlp?: string;
  serviceName: string;
}

/**
 * Writes the Artillery script for one run into `dir` and returns its path. The loop: `users`
 * virtual users arrive within the first second (arrivalCount), and each repeats `GET /` with no
 * think time until `seconds` after the first request (bench/artillery/loop.cjs): a closed model of
 * `users` concurrent users, the same as the other tools', rather than an arrival rate.
 *
 * Traced, the publish-metrics plugin's OpenTelemetry reporter sends every span (sampleRate 1) over
 * OTLP/HTTP protobuf with the batch settings firstspan uses by default (batches of 512 sent at
 * least every second, a queue large enough that nothing is dropped at this rate); its defaults (a
 * queue of 2,000 and a 5 s delay) would drop spans at the bench's rate.
 */
export function writeArtilleryScript(root: string, dir: string, run: ArtilleryRun): string {
  const config: Record<string, unknown> = {
    target: run.targetUrl,
    processor: `${root}bench/artillery/loop.cjs`,
    phases: [{ duration: 1, arrivalCount: run.users }],
  };
  if (run.otlp !== undefined) {
    config.plugins = {
      'publish-metrics': [
        {
          type: 'open-telemetry',
          serviceName: run.serviceName,
          traces: {
            exporter: 'otlp-proto',
            endpoint: `${run.otlp}/v1/traces`,
            sampleRate: 1,
            maxExportBatchSize: 512,
            maxQueueSize: 262_144,
            scheduledDelayMillis: 1000,
          },
        },
      ],
    };
  }
  const script = { config, scenarios: [{ flow: [{ loop: [{ get: { url: '/' } }], whileTrue: 'untilTheEnd' }] }] };
  const path = join(dir, `artillery-${run.otlp === undefined ? 'untraced' : 'traced'}.json`);
  writeFileSync(path, JSON.stringify(script, null, 2));
  return path;
}

export function artilleryArgs(root: string, script: string, report: string): string[] {
  return [artilleryBin(root), 'run', '--quiet', '--output', report, script];
}

/** One worker thread (it would start one per core less one), no phone-home, the loop length. */
export function artilleryEnv(base: NodeJS.ProcessEnv, seconds: number): NodeJS.ProcessEnv {
  return { ...base, WORKERS: '1', ARTILLERY_DISABLE_TELEMETRY: 'true', PEERS_SECONDS: String(seconds) };
}

/** Responses Artillery counted, from its `--output` report (aggregate counters). */
export function artilleryRequests(reportJson: string): number {
  const report = JSON.parse(reportJson) as { aggregate?: { counters?: Record<string, number> } };
  const responses = report.aggregate?.counters?.['http.responses'];
  if (typeof responses !== 'number') throw new Error(`no http.responses counter in Artillery's report: ${reportJson.slice(0, 500)}`);
  return responses;
}

// ---- Gatling -----------------------------------------------------------------------------------

const GATLING_DIR = 'bench/gatling';

/** Builds bench/gatling with Maven when Java and Maven are there (scripts/install-gatling.sh). */
export function gatlingAvailability(root: string): Availability {
  const { ok, out } = runScript(root, 'install-gatling.sh');
  if (!ok) return { ok: false, detail: `scripts/install-gatling.sh failed: ${out.slice(-500)}` };
  const version = /gatling-core-(\d+\.\d+\.\d+)/.exec(out)?.[1];
  if (version === undefined) return { ok: false, detail: out.replace(/^install-gatling: /, '') };
  return { ok: true, detail: `Gatling ${version}` };
}

/**
 * Gatling's own main class on the compiled simulation (bench/gatling/.../TightGet.java), with the
 * JVM options gatling-maven-plugin starts it with. -XX:ActiveProcessorCount=2: pinned to one core
 * the JVM sizes Gatling's thread pools for one processor, and Gatling's controller then waits
 * forever for its data writers to start (seen with Gatling 3.13 on JDK 17); the process still
 * runs on that one core.
 */
export function gatlingArgs(root: string, run: { targetUrl: string; users: number; seconds: number }): string[] {
  const dir = `${root}${GATLING_DIR}`;
  return [
    'java',
    '-XX:ActiveProcessorCount=2',
    '-server',
    '-Xmx1G',
    '-XX:+UseG1GC',
    '-XX:+ParallelRefProcEnabled',
    '-XX:MaxInlineLevel=20',
    '-XX:MaxTrivialSize=12',
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    '-cp',
    `${dir}/target/test-classes:${dir}/target/deps/*`,
    `-Dtarget=${run.targetUrl}`,
    `-Dusers=${run.users}`,
    `-Dseconds=${run.seconds}`,
    'io.gatling.app.Gatling',
    '--simulation',
    'firstspan.TightGet',
    '--results-folder',
    `${dir}/target/results`,
    '--no-reports',
  ];
}

/** Requests Gatling sent (OK + KO), from the last "> Global" row of its console summary. */
export function gatlingRequests(stdout: string): number {
  const rows = [...stdout.matchAll(/^> Global\s*\|\s*([\d,]+)\s*\|/gm)];
  const last = rows[rows.length - 1];
  if (last === undefined) throw new Error(`no "> Global" row in Gatling's output: ${stdout.slice(-1500)}`);
  return Number((last[1] as string).replaceAll(',', ''));
}
