// docker-compose.yml checked by Debian's docker-compose (`config` parses and validates it against
// the Compose schema; no engine needed), plus the cross-references the schema cannot see: the
// files it mounts and runs exist, the Collector gets a config this repository validates, and the
// generator's telemetry really goes through the Collector to the receiver.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { collect } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function findCompose(): { command?: string[]; missing?: string } {
  for (const candidate of [['docker-compose'], ['docker', 'compose']]) {
    const probe = spawnSync(candidate[0] as string, [...candidate.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return { command: candidate };
  }
  return {
    missing:
      'neither docker-compose nor the docker compose plugin is installed ' +
      '(on Debian: apt-get install docker-compose; scripts/install-test-peers.sh does it as root)',
  };
}

const compose = findCompose();
if (compose.missing) console.warn(`compose tests skipped: ${compose.missing}`);

async function config(file: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = compose.command as string[];
  const child = spawn(cmd as string, [...pre, '-f', file, 'config', ...args], {
    cwd: path.dirname(file),
    env: { ...process.env, USERS: '7' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, 60_000);
}

describe.skipIf(compose.missing !== undefined)('docker-compose.yml', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'firstspan-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is valid and defines the seed scenario: collector, receiver, shop, generator, analyzer', async () => {
    const result = await config(path.join(ROOT, 'docker-compose.yml'), ['--services']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').sort()).toEqual(['analyzer', 'collector', 'generator', 'receiver', 'shop']);
  });

  it('wires the telemetry generator → collector → receiver, with the knobs from the environment', async () => {
    const result = await config(path.join(ROOT, 'docker-compose.yml'));
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('FIRSTSPAN_RECEIVER_ENDPOINT: http://receiver:4318');
    expect(out.match(/OTEL_EXPORTER_OTLP_ENDPOINT: http:\/\/collector:4318/g)).toHaveLength(2);
    expect(out).toContain('- --otel');
    expect(out).toContain('- examples/ecommerce_shopper.ts');
    // USERS=7 from the environment reached the generator's command line.
    expect(out).toMatch(/- --users\n\s+- '7'/);
    expect(out).toContain('condition: service_completed_successfully');
  });

  it('refers only to files that exist and to a Collector config from collector-config/', () => {
    const text = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'examples', 'ecommerce_shopper.ts'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'examples', 'shop', 'main.ts'))).toBe(true);
    const configName = /--config=\/etc\/otelcol\/([\w.-]+)/.exec(text)?.[1];
    expect(configName).toBeDefined();
    expect(existsSync(path.join(ROOT, 'collector-config', configName as string))).toBe(true);
    // Every directory the Dockerfile copies exists (a rename would break `docker compose build`).
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+) \.\/\S*$/gm)) {
      expect(existsSync(path.join(ROOT, m[1] as string)), m[1]).toBe(true);
    }
  });

  it('rejects a broken copy (the validation is real)', async () => {
    const file = path.join(dir, 'docker-compose.yml');
    copyFileSync(path.join(ROOT, 'docker-compose.yml'), file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('condition: service_completed_successfully', 'condition: when_it_feels_like_it'));
    const result = await config(file);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/when_it_feels_like_it|condition/);
  });
});
