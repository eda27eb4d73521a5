// Delay the TCP handshake itself, in the kernel: every SYN sent to one port waits a known time
// before the kernel sees it, so a client's `connect` takes that much longer and the delay lands in
// the generator's connect phase, where a slow connection set-up (a far-away server, a full SYN
// queue) really shows.
//
// A user-space proxy cannot do this (the kernel answers the SYN before `accept()`), and the usual
// kernel tool, tc netem, is missing from some kernels. This uses what Linux firewalls have: an
// iptables rule sends the port's SYNs to an NFQUEUE queue, and demo/handshake-hold.py holds each one
// for the delay and then lets it through. Linux only, root (CAP_NET_ADMIN) only, and it changes the
// firewall of the current network namespace: tests run it in a namespace they create themselves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, FirstspanError } from '../model/errors.ts';

const HOLDER = fileURLToPath(new URL('./handshake-hold.py', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

export interface HandshakeHoldOptions {
  /** The listening port whose incoming SYNs are held. */
  port: number;
  /** The listening address; decides IPv4 or IPv6 rules, and narrows the rule unless unspecified. */
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
  // One queue per port: two proxies never share a queue, and the number says whose it is.
  const queue = options.port;
  const rule = ruleFor(options, queue);
  const tool = net.isIPv6(options.host) ? 'ip6tables' : 'iptables';
  // Rule first, then the holder: with --queue-bypass, SYNs pass unheld until the queue is bound,
  // and the holder is ready only once it is.
  runFirewall(tool, ['-A', ...rule]);
  let holder: ChildProcess;
  try {
    holder = await startHolder(queue, options.delayMs);
  } catch (error) {
    runFirewall(tool, ['-D', ...rule], { quiet: true });
    throw error;
  }
  let stopped: Promise<number> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        runFirewall(tool, ['-D', ...rule], { quiet: true });
        return stopHolder(holder);
      })();
      return stopped;
    },
  };
}

/**
 * The iptables rule (without -A/-D): SYNs to the port, in mangle PREROUTING, which both loopback
 * traffic (OUTPUT → lo → PREROUTING) and traffic from other hosts pass. --queue-bypass lets packets
 * through unheld whenever no holder is bound, so a crashed holder never blackholes the port.
 */
function ruleFor(options: HandshakeHoldOptions, queue: number): string[] {
  const unspecified = options.host === '0.0.0.0' || options.host === '::';
  return [
    'PREROUTING',
    '-t',
    'mangle',
    '-p',
    'tcp',
    ...(unspecified ? [] : ['-d', options.host]),
    '--dport',
    String(options.port),
    '--syn',
    '-j',
    'NFQUEUE',
    '--queue-num',
    String(queue),
    '--queue-bypass',
  ];
}

function runFirewall(tool: string, args: string[], opts: { quiet?: boolean } = {}): void {
  // -w: wait for the xtables lock rather than fail when another rule change is under way.
  const result = spawnSync(tool, ['-w', ...args], { encoding: 'utf8' });
  if (opts.quiet === true) return;
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim();
    throw new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, `could not add the firewall rule that holds the TCP handshake (${tool} ${args.join(' ')}): ${why}. It needs root and a kernel with iptables NFQUEUE support.`);
  }
}

function startHolder(queue: number, delayMs: number): Promise<ChildProcess> {
  // stdin stays a pipe: the holder exits when it closes, so it never outlives us.
  const holder = spawn('python3', [HOLDER, '--queue', String(queue), '--delay-ms', String(delayMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      holder.kill('SIGKILL');
      reject(new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, `the handshake holder (${HOLDER}) did not start: ${why}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    holder.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    holder.stdout?.on('data', function onData(d: Buffer) {
      stdout += d.toString();
      if (stdout.includes('"ready": true')) {
        clearTimeout(timer);
        holder.stdout?.off('data', onData);
        resolve(holder);
      }
    });
    holder.once('error', (error) => fail(error.message));
    holder.once('exit', (code) => fail(stderr.trim() || `exited with code ${code}`));
  });
}

function stopHolder(holder: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    holder.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    holder.removeAllListeners('exit');
    holder.once('close', () => {
      const held = /"held": (\d+)/.exec(stdout);
      if (held === null) reject(new FirstspanError(ErrorCodes.HANDSHAKE_HOLD, 'the handshake holder stopped without saying how many SYNs it held'));
      else resolve(Number(held[1]));
    });
    holder.stdin?.end();
  });
}
