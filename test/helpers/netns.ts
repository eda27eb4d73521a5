// A throwaway Linux network namespace with only its own loopback: tests that change firewall rules
// or hold packets do it there, so nothing outside the test sees it. Root only.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetworkNamespace {
  name: string;
  /** Prefix an argv with this to run it inside the namespace. */
  exec: string[];
  remove(): void;
}

/** Why no namespace can be made here, or undefined when one can (it is made and removed to check). */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'creating a network namespace needs root';
  try {
    createNetns('fs-probe').remove();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function createNetns(prefix: string): NetworkNamespace {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  ip(['netns', 'add', name]);
  try {
    ip(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    ip(['netns', 'delete', name]);
    throw error;
  }
  return {
    name,
    exec: ['ip', 'netns', 'exec', name],
    remove: () => ip(['netns', 'delete', name]),
  };
}

function ip(args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`);
}
