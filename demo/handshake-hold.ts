// Delay the TCP handshake itself, in the kernel: every SYN sent to one port waits a known time
// before the kernel sees it, so a client's `connect` takes that much longer and the delay lands in
// the generator's connect phase, where a slow connection set-up (a far-away server, a full SYN
// queue) really shows.
//
// A user-space proxy cannot do this (the kernel answers the SYN before `accept()`), and the usual
// kernel tool, tc netem, is missing from some kernels. This uses what Linux firewalls have:
// demo/handshake-hold.py adds an iptables rule that sends the port's SYNs to an NFQUEUE queue,
// holds each one for the delay, lets it through, and removes the rule when it stops. Linux and
// root (CAP_NET_ADMIN) only, and it changes the firewall of the current network namespace while it
// runs: tests run it in a namespace they create themselves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, FirstspanError } from '../model/errors.ts';

const HOLDER = fileURLToPath(new URL('./handshake-hold.py', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

export interface HandshakeHoldOptions {
  /** The listening port whose incoming SYNs are held. */
  port: number;
  /** The listening address: decides iptables or ip6tables, and narrows the rule unless 0.0.0.0/::. */
  host: string;
  delayMs: number;
}

export interface HandshakeHold {
  /** Removes the rule, releases anything still held, and resolves with the number of SYNs held. */
  stop(): Promise<number>;
}

/** Why a handshake hold cannot run here, or undefined when it can (as far as can be told before trying). */
export function handshakeHoldUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'holding the TCP handshake needs Linux (iptables NFQUEUE)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'holding the TCP handshake needs root (CAP_NET_ADMIN) to add an iptables rule';
  for (const tool of ['iptables', 'python3']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined) return `holding the TCP handshake needs ${tool} on the PATH`;
  }
  return undefined;
}

export async function startHandshakeHold(options: HandshakeHoldOptions): Promise<HandshakeHold> {
  const unavailable = handshakeHoldUnavailable();
  if (unavailable !== undefined) throw new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, unavailable);
  const holder = await startHolder(options);
  let stopped: Promise<number> | undefined;
  return {
    stop() {
      stopped ??= stopHolder(holder);
      return stopped;
    },
  };
}

interface Holder {
  process: ChildProcess;
  stderr(): string;
}

function startHolder(options: HandshakeHoldOptions): Promise<Holder> {
  // The holder adds the firewall rule and removes it when it stops. Its stdin stays a pipe: it
  // stops when that closes, so it never outlives us, even if we are killed outright.
  const args = [HOLDER, '--port', String(options.port), '--host', options.host, '--delay-ms', String(options.delayMs)];
  const holder = spawn('python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      holder.off('close', onClose);
      holder.kill('SIGKILL');
      reject(new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, `could not hold the TCP handshake of port ${options.port}: ${why}`));
    };
    const onClose = (code: number | null): void => fail(stderr.trim().replace(/^handshake-hold: /, '') || `${HOLDER} exited with code ${code}`);
    const timer = setTimeout(() => fail(`no ready line within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    holder.stdout?.on('data', function onData(d: Buffer) {
      stdout += d.toString();
      if (!stdout.includes('"ready": true')) return;
      clearTimeout(timer);
      holder.stdout?.off('data', onData);
      holder.off('close', onClose);
      resolve({ process: holder, stderr: () => stderr });
    });
    holder.once('error', (error) => fail(error.message));
    holder.once('close', onClose);
  });
}

function stopHolder(holder: Holder): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    holder.process.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    holder.process.once('close', () => {
      const held = /"held": (\d+)/.exec(stdout);
      if (held !== null) resolve(Number(held[1]));
      else reject(new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, `the handshake holder stopped without saying how many SYNs it held: ${holder.stderr().trim() || 'no message'}`));
    });
    // Closing its stdin is how the holder is told to stop (it removes its rule first).
    holder.process.stdin?.end();
  });
}
