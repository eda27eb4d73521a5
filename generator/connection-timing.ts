// Where the time of one request went, from undici's diagnostics channels and our own connector.
//
// undici tells us when a request was created, when its headers were written (with the socket),
// when its body was sent, when response headers arrived and when it completed. It cannot attribute
// connection set-up to a request ("connections are pooled"), so our connector times DNS, TCP and
// TLS per socket, and the first request written on a socket claims that socket's set-up.
// All marks are performance.now() values (monotonic, sub-millisecond).
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import tls from 'node:tls';
import type { PhaseName } from '../model/attributes.ts';

/** Set-up marks of one socket, filled by the connector. */
export interface ConnectionMarks {
  start: number;
  lookupEnd?: number;
  tcpEnd?: number;
  tlsEnd?: number;
  claimed: boolean;
  secure: boolean;
  /** Whether the host needed a DNS lookup (not an IP literal). */
  lookup: boolean;
}

/** Marks of one request. `start` is set by the caller just before handing the request to undici. */
export interface RequestMarks {
  start: number;
  connection?: ConnectionMarks;
  headersSent?: number;
  bodySent?: number;
  responseHeaders?: number;
  end?: number;
  /** The socket the request was written on (to close it, or to read the peer address). */
  socket?: net.Socket;
}

const socketMarks = new WeakMap<net.Socket, ConnectionMarks>();
const requestMarks = new WeakMap<object, RequestMarks>();
/** The marks of the request being created right now: undici publishes `request:create` synchronously. */
let creating: RequestMarks | undefined;
let subscribed = false;

/** Run `dispatch` (which must create exactly one undici request synchronously) under `marks`. */
export function withRequestMarks<T>(marks: RequestMarks, dispatch: () => T): T {
  subscribe();
  creating = marks;
  try {
    return dispatch();
  } finally {
    creating = undefined;
  }
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnosticsChannel.subscribe('undici:request:create', (message) => {
    if (creating === undefined) return;
    requestMarks.set((message as { request: object }).request, creating);
  });
  diagnosticsChannel.subscribe('undici:client:sendHeaders', (message) => {
    const { request, socket } = message as { request: object; socket: net.Socket };
    const marks = requestMarks.get(request);
    if (marks === undefined) return;
    marks.headersSent = performance.now();
    marks.socket = socket;
    const connection = socketMarks.get(socket);
    if (connection !== undefined) {
      // Only the first request on a socket wants its set-up; the socket may stay open for long.
      socketMarks.delete(socket);
      if (!connection.claimed) {
        connection.claimed = true;
        marks.connection = connection;
      }
    }
  });
  diagnosticsChannel.subscribe('undici:request:bodySent', (message) => {
    const marks = requestMarks.get((message as { request: object }).request);
    if (marks !== undefined) marks.bodySent = performance.now();
  });
  diagnosticsChannel.subscribe('undici:request:headers', (message) => {
    const marks = requestMarks.get((message as { request: object }).request);
    if (marks !== undefined) marks.responseHeaders = performance.now();
  });
}

interface ConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
}
type ConnectCallback = (error: Error | null, socket: net.Socket | null) => void;
type ConnectFunction = (options: ConnectOptions, callback: ConnectCallback) => net.Socket;

/** undici's callback of each socket still being set up; deleted once it settles. */
const settling = new WeakMap<net.Socket, ConnectCallback>();

// The set-up listeners are module functions reading their socket from `this`, not closures per
// socket: every idle user holds a connection, so anything kept per socket is paid 10,000 times
// (and tsx's keepNames turns each named closure into a dictionary-mode function, 300 bytes more).
function onLookup(this: net.Socket): void {
  const marks = socketMarks.get(this);
  if (marks !== undefined) marks.lookupEnd ??= performance.now();
}
function onConnect(this: net.Socket): void {
  const marks = socketMarks.get(this);
  if (marks === undefined) return;
  marks.tcpEnd = performance.now();
  if (!marks.secure) settle(this, null);
}
function onSecureConnect(this: net.Socket): void {
  const marks = socketMarks.get(this);
  if (marks !== undefined) marks.tlsEnd = performance.now();
  settle(this, null);
}
function onSetupError(this: net.Socket, error: Error): void {
  if (!settling.has(this)) return;
  this.destroy();
  settle(this, error);
}

/** Hand the socket (or the error) to undici once, and drop the set-up listeners. */
function settle(socket: net.Socket, error: Error | null): void {
  const callback = settling.get(socket);
  if (callback === undefined) return;
  settling.delete(socket);
  socket.off('lookup', onLookup);
  socket.off('connect', onConnect);
  socket.off('secureConnect', onSecureConnect);
  socket.off('error', onSetupError);
  callback(error, error === null ? socket : null);
}

/**
 * undici `connect` function that times DNS, TCP and TLS of each socket it opens. A fresh
 * connection per call (no TLS session reuse across users: each virtual user is a new visitor).
 * One per undici Client, so `latest` belongs to one user's connection.
 */
export class TimedConnector {
  /** The last socket this connector opened (or tried to): a request that failed before it was
   *  written claims it, so a refused connection shows up in the connect phase. */
  latest: ConnectionMarks | undefined = undefined;
  /** What undici calls (it calls it bare, not as a method). */
  readonly connect: ConnectFunction;
  readonly #rejectUnauthorized: boolean;

  constructor(tlsOptions: { rejectUnauthorized?: boolean } = {}) {
    this.#rejectUnauthorized = tlsOptions.rejectUnauthorized ?? true;
    // Assigned here rather than as a class field: a field arrow would get tsx's __name wrapper.
    this.connect = (options, callback) => this.#open(options, callback);
  }

  #open(options: ConnectOptions, callback: ConnectCallback): net.Socket {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    const hostname = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
    const secure = options.protocol === 'https:';
    const lookup = net.isIP(hostname) === 0;
    const marks: ConnectionMarks = { start: performance.now(), claimed: false, secure, lookup };
    this.latest = marks;
    const socket = secure
      ? tls.connect({
          host: hostname,
          port,
          servername: options.servername ?? (lookup ? hostname : undefined),
          ALPNProtocols: ['http/1.1'],
          rejectUnauthorized: this.#rejectUnauthorized,
        })
      : net.connect({ host: hostname, port });
    socketMarks.set(socket, marks);
    settling.set(socket, callback);
    socket.setNoDelay(true);
    // An IP literal is never looked up: no 'lookup' event would come to remove the listener.
    if (lookup) socket.on('lookup', onLookup);
    socket.on('connect', onConnect);
    if (secure) socket.on('secureConnect', onSecureConnect);
    socket.on('error', onSetupError);
    return socket;
  }
}

export type Phases = Record<PhaseName, number>;

/**
 * Split [start, end] into consecutive phases that tile it exactly: every millisecond of the span
 * lands in one phase. A mark that never came (an error, a reused socket) makes its phase 0 and
 * leaves the time to the phase in progress.
 *
 * blocked = before the connection attempt + between connection ready and headers written (undici's
 * queue and our own scheduling); dns, connect, tls only on the request that opened the socket;
 * sending = headers written → body sent; waiting = body sent → response headers (time to first
 * byte); receiving = response headers → body fully read.
 */
export function tilePhases(marks: RequestMarks, end: number): Phases {
  const phases: Phases = { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0, waiting: 0, receiving: 0 };
  let cursor = marks.start;
  const c = marks.connection;
  if (c !== undefined) {
    cursor = take(phases, 'blocked', cursor, c.start, end);
    cursor = take(phases, 'dns', cursor, c.lookupEnd, end);
    cursor = take(phases, 'connect', cursor, c.tcpEnd, end);
    cursor = take(phases, 'tls', cursor, c.tlsEnd, end);
  }
  cursor = take(phases, 'blocked', cursor, marks.headersSent, end);
  cursor = take(phases, 'sending', cursor, marks.bodySent ?? marks.headersSent, end);
  cursor = take(phases, 'waiting', cursor, marks.responseHeaders, end);
  // Whatever is left belongs to the phase the request was in when it ended.
  phases[lastPhase(marks)] += end - cursor;
  return phases;
}

/** Give `phase` the time from `cursor` to `at` (clamped to [cursor, end]); returns the new cursor.
 *  A module function, not a closure per request (tsx's keepNames would wrap each one). */
function take(phases: Phases, phase: PhaseName, cursor: number, at: number | undefined, end: number): number {
  if (at === undefined) return cursor;
  const t = Math.min(Math.max(at, cursor), end);
  phases[phase] += t - cursor;
  return t;
}

function lastPhase(marks: RequestMarks): PhaseName {
  if (marks.responseHeaders !== undefined) return 'receiving';
  if (marks.bodySent !== undefined) return 'waiting';
  if (marks.headersSent !== undefined) return 'sending';
  const c = marks.connection;
  if (c === undefined) return 'blocked';
  if (c.tlsEnd !== undefined || (c.tcpEnd !== undefined && !c.secure)) return 'blocked';
  if (c.tcpEnd !== undefined) return 'tls';
  if (c.lookup && c.lookupEnd === undefined) return 'dns';
  return 'connect';
}
