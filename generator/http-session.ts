// `this.client` of a virtual user: Locust's HttpSession over undici.
//
// Each user owns one undici Client per origin: a single connection with no pipelining, opened on
// the user's first request and kept alive between its requests (as each Locust user has its own
// session). Not a Pool or Agent: those may open a second connection for back-to-back requests,
// which would hide the set-up cost a real visitor pays once. `newConnection` (per request, or
// `connectionPerRequest` for the whole user) closes the socket after the response instead.
//
// Bodies are always read to the end: the time to the last byte is what the user waited for.
import { Client } from 'undici';
import { CUT_OFF_ERROR_TYPE } from '../model/attributes.ts';
import { FirstspanError } from '../model/errors.ts';
import type { Phases } from './connection-timing.ts';
import { TimedConnector, tilePhases, withRequestMarks, type RequestMarks } from './connection-timing.ts';

export interface RequestOptions {
  /** Groups requests in stats and names the span (`/product/{id}`); defaults to the path. */
  name?: string;
  headers?: Record<string, string>;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  body?: string | Uint8Array;
  /** Query parameters appended to the path. */
  params?: Record<string, string | number | boolean>;
  /**
   * Judge the response yourself: call `response.success()` or `response.failure(reason)`.
   * Without a verdict the default rule applies when the task ends (status < 400 is a success).
   */
  catchResponse?: boolean;
  /** Close this request's connection after the response, so the next request opens a new one. */
  newConnection?: boolean;
  /** Milliseconds to wait for response headers and between body chunks (default 60 s). */
  timeout?: number;
}

export interface RequestOutcome {
  method: string;
  name: string;
  url: string;
  serverAddress: string;
  serverPort: number;
  /** performance.now() marks. */
  start: number;
  end: number;
  phases: Phases;
  /** false when this request opened the connection it used; undefined when it never got one. */
  reused: boolean | undefined;
  /** 0 when no response arrived. */
  status: number;
  contentLength: number;
  /** Set when the request failed: the message for the failures table. */
  failure?: string;
  /** OTel error.type: the status code, an error code (ECONNREFUSED), `check_failed`, or
   *  `run_stopped` for a request the stop cut off. */
  errorType?: string;
  /** The user was stopped mid-request: the request gets its span but stays out of the stats. */
  cutOff?: boolean;
}

/** Where a request goes, parsed once per origin. */
export interface Origin {
  origin: string;
  hostname: string;
  port: number;
}

/** Receives every request: telemetry starts its span in begin, stats and span end in finish. */
export interface RequestObserver {
  begin(method: string, name: string, origin: Origin, path: string, start: number): RequestHandle;
}
export interface RequestHandle {
  /** Headers to inject (traceparent). */
  headers: Record<string, string> | undefined;
  finish(outcome: RequestOutcome): void;
}

export class Response {
  readonly status: number;
  /** The network error when no response arrived (status 0). */
  readonly error: Error | undefined;
  readonly url: string;
  /** Response time in milliseconds, to the last byte. */
  readonly elapsedMs: number;
  #rawHeaders: Buffer[] | undefined;
  #headers: Record<string, string | string[]> | undefined;
  #chunks: Buffer[];
  #body: Buffer | undefined;
  #verdict: { failure?: string } | undefined;
  #settle: ((failure: string | undefined) => void) | undefined;

  constructor(init: { status: number; rawHeaders: Buffer[] | undefined; chunks: Buffer[]; url: string; error?: Error; elapsedMs: number }) {
    this.status = init.status;
    this.#rawHeaders = init.rawHeaders;
    this.#chunks = init.chunks;
    this.url = init.url;
    this.error = init.error;
    this.elapsedMs = init.elapsedMs;
  }

  /** Response headers, names in lower case (parsed on first use: most scripts never look). */
  get headers(): Record<string, string | string[]> {
    if (this.#headers === undefined) {
      const headers: Record<string, string | string[]> = {};
      const raw = this.#rawHeaders ?? [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const key = (raw[i] as Buffer).toString('latin1').toLowerCase();
        const value = (raw[i + 1] as Buffer).toString('latin1');
        const prev = headers[key];
        headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      this.#headers = headers;
      this.#rawHeaders = undefined;
    }
    return this.#headers;
  }
  /** The whole body (always read to the end before the response is handed over). */
  get body(): Buffer {
    if (this.#body === undefined) {
      this.#body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
      this.#chunks = [];
    }
    return this.#body;
  }
  get ok(): boolean {
    return this.error === undefined && this.status > 0 && this.status < 400;
  }
  text(): string {
    return this.body.toString('utf8');
  }
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
  /** With `catchResponse`: count this request as a success whatever its status. */
  success(): void {
    this.#decide(undefined);
  }
  /** With `catchResponse`: count this request as failed, with a reason for the failures table. */
  failure(reason: string | Error): void {
    this.#decide(reason instanceof Error ? reason.message : String(reason));
  }
  #decide(failure: string | undefined): void {
    if (this.#settle === undefined) {
      throw FirstspanError.of('FS_ERR_SCRIPT_API', { call: 'success()/failure()', what: '{ catchResponse: true } on the request' });
    }
    if (this.#verdict !== undefined) return;
    this.#verdict = failure === undefined ? {} : { failure };
    this.#settle(failure);
  }
  /** @internal the session wires the verdict to the stats and span. */
  _awaitVerdict(settle: (failure: string | undefined) => void): void {
    this.#settle = settle;
  }
  /** @internal apply the default verdict if the script gave none. */
  _settleDefault(): void {
    if (this.#verdict === undefined && this.#settle !== undefined) this.#decide(defaultFailure(this));
  }
}

function defaultFailure(r: Response): string | undefined {
  if (r.error !== undefined) return describeError(r.error);
  if (r.status >= 400) return `HTTP ${r.status}`;
  return undefined;
}

function describeError(error: Error): string {
  const code = (error as { code?: string }).code;
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

function errorTypeOf(error: Error): string {
  const code = (error as { code?: string }).code;
  return code ?? error.name ?? 'Error';
}

export interface SessionOptions {
  baseUrl: string;
  observer: RequestObserver;
  connectionPerRequest?: boolean;
  rejectUnauthorized?: boolean;
}

interface Connection {
  client: Client;
  connector: TimedConnector;
  target: Origin;
}

/** An origin parsed once for every user: undici keeps the URL object it is given as it is. */
interface ParsedOrigin {
  url: URL;
  target: Origin;
}
/** Bounded, so a script that wanders over many hosts does not grow it without end. */
const parsedOrigins = new Map<string, ParsedOrigin>();
const MAX_PARSED_ORIGINS = 1000;

function parseOrigin(origin: string): ParsedOrigin {
  let parsed = parsedOrigins.get(origin);
  if (parsed === undefined) {
    const url = new URL(origin);
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    parsed = { url, target: { origin: url.origin, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port } };
    if (parsedOrigins.size < MAX_PARSED_ORIGINS) parsedOrigins.set(origin, parsed);
  }
  return parsed;
}

/**
 * Collects one response through undici's own handler interface: no Readable stream and no promise
 * per request. A class, so a request allocates one object rather than an object of five closures.
 */
class ResponseCollector {
  status = 0;
  rawHeaders: Buffer[] | undefined = undefined;
  chunks: Buffer[] = [];
  error: Error | undefined = undefined;
  readonly #done: (collector: ResponseCollector) => void;

  constructor(done: (collector: ResponseCollector) => void) {
    this.#done = done;
  }
  onConnect(): void {}
  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    this.rawHeaders = rawHeaders;
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  onComplete(): void {
    this.#done(this);
  }
  onError(error: Error): void {
    this.error = error;
    this.#done(this);
  }
}

export class HttpSession {
  // Per-user state is kept small and lazy: 10,000 idle users each hold one of these.
  readonly #options: SessionOptions;
  readonly #base: URL;
  /** The connection to the user's own host (nearly every request goes there). */
  #home: Connection | undefined;
  /** Connections to other origins (absolute URLs), made on first use. */
  #elsewhere: Map<string, Connection> | undefined;
  /** Responses waiting for a catchResponse verdict; settled by default when the task ends. */
  #pending: Set<Response> | undefined;
  /** Bumped by abort(): a request that fails from an older generation was stopped, not failed. */
  #generation = 0;
  /** Close each request's connection after its response (the user's default). */
  connectionPerRequest: boolean;

  constructor(options: SessionOptions) {
    this.#options = options;
    // Shared with every session on the same host: the base is only read.
    const base = new URL(options.baseUrl);
    this.#base = base.pathname === '/' && base.search === '' && base.hash === '' ? parseOrigin(base.origin).url : base;
    this.connectionPerRequest = options.connectionPerRequest ?? false;
  }

  get(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('GET', path, options);
  }
  post(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('POST', path, options);
  }
  put(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('PUT', path, options);
  }
  patch(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('PATCH', path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('DELETE', path, options);
  }
  head(path: string, options?: RequestOptions): Promise<Response> {
    return this.request('HEAD', path, options);
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    method = method.toUpperCase();
    // Fast path for the common case, a path on the user's host: no URL object per request.
    let origin: string;
    let requestPath: string;
    if (path.startsWith('/') && !path.startsWith('//') && options.params === undefined) {
      origin = this.#base.origin;
      requestPath = path;
    } else {
      const url = new URL(path, this.#base);
      if (options.params !== undefined) {
        for (const [key, value] of Object.entries(options.params)) url.searchParams.append(key, String(value));
      }
      origin = url.origin;
      requestPath = url.pathname + url.search;
    }
    const q = requestPath.indexOf('?');
    const name = options.name ?? (q < 0 ? requestPath : requestPath.slice(0, q));
    let headers: Record<string, string> | undefined = options.headers === undefined ? undefined : { ...options.headers };
    let body: string | Uint8Array | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers ??= {};
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    const connection = this.#connection(origin);
    const generation = this.#generation;
    const marks: RequestMarks = { start: performance.now() };
    const handle = this.#options.observer.begin(method, name, connection.target, requestPath, marks.start);
    if (handle.headers !== undefined) headers = headers === undefined ? handle.headers : Object.assign(headers, handle.headers);
    const timeout = options.timeout ?? 60_000;
    const result = await new Promise<ResponseCollector>((resolve) => {
      const handler = new ResponseCollector(resolve);
      withRequestMarks(marks, () =>
        connection.client.dispatch(
          {
            method: method as 'GET',
            path: requestPath,
            headers,
            body,
            reset: options.newConnection ?? this.connectionPerRequest,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          },
          handler,
        ),
      );
    });
    const end = performance.now();
    const { status, error } = result;
    const stopped = error !== undefined && generation !== this.#generation;
    if (marks.headersSent === undefined && marks.connection === undefined) {
      const latest = connection.connector.latest;
      if (latest !== undefined && !latest.claimed && latest.start >= marks.start) {
        latest.claimed = true;
        marks.connection = latest;
      }
    }
    // A claimed set-up is of no further use; an idle user should not keep it.
    if (connection.connector.latest?.claimed === true) connection.connector.latest = undefined;
    const url = origin + requestPath;
    const response = new Response({ status, rawHeaders: result.rawHeaders, chunks: result.chunks, url, error, elapsedMs: end - marks.start });
    let contentLength = 0;
    for (const chunk of result.chunks) contentLength += chunk.length;
    const outcome: RequestOutcome = {
      method,
      name,
      url,
      serverAddress: connection.target.hostname,
      serverPort: connection.target.port,
      start: marks.start,
      end,
      phases: tilePhases(marks, end),
      reused: marks.connection !== undefined ? false : marks.headersSent !== undefined ? true : undefined,
      status,
      contentLength,
    };
    if (stopped) {
      // The user was stopped mid-request: not a failure of the target, so not counted; but its
      // traceparent may have reached the target, whose span needs its parent.
      outcome.cutOff = true;
      outcome.failure = 'cut off: the run stopped before the response';
      outcome.errorType = CUT_OFF_ERROR_TYPE;
      handle.finish(outcome);
      throw new UserStopped();
    }
    if (options.catchResponse) {
      const pending = (this.#pending ??= new Set());
      response._awaitVerdict((failure) => {
        pending.delete(response);
        finishOutcome(handle, outcome, failure, error);
      });
      pending.add(response);
    } else {
      finishOutcome(handle, outcome, defaultFailure(response), error);
    }
    return response;
  }

  /** Apply the default verdict to catchResponse responses the task left undecided. */
  settlePending(): void {
    if (this.#pending === undefined || this.#pending.size === 0) return;
    for (const response of [...this.#pending]) response._settleDefault();
  }

  /**
   * Stop the user: in-flight requests are cut off (a span each, no stats) and connections close. The
   * session stays usable: onStop's requests open a new connection.
   */
  abort(): void {
    this.#generation += 1;
    for (const { client } of this.#takeConnections()) void client.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.#takeConnections().map(({ client }) => client.destroy().catch(() => undefined)));
  }

  /** Forget every connection (the caller closes them): the next request opens a new one. */
  #takeConnections(): Connection[] {
    const connections = this.#elsewhere === undefined ? [] : [...this.#elsewhere.values()];
    if (this.#home !== undefined) connections.push(this.#home);
    this.#home = undefined;
    this.#elsewhere = undefined;
    return connections;
  }

  #connection(origin: string): Connection {
    const home = origin === this.#base.origin;
    let connection = home ? this.#home : this.#elsewhere?.get(origin);
    if (connection === undefined) {
      const { url, target } = parseOrigin(origin);
      const connector = new TimedConnector({ rejectUnauthorized: this.#options.rejectUnauthorized ?? true });
      // No 'connectionError' listener: undici emits that event for information only (an
      // unheard 'error' would throw, 'connectionError' does not), and a listener costs every user.
      const client = new Client(url, { connect: connector.connect as never, pipelining: 1 });
      connection = { client, connector, target };
      if (home) this.#home = connection;
      else (this.#elsewhere ??= new Map()).set(origin, connection);
    }
    return connection;
  }
}

/** Hand a request's outcome to its observer, with the verdict. A function, not a closure per
 *  request (tsx's keepNames would make each closure a dictionary-mode function). */
function finishOutcome(handle: RequestHandle, outcome: RequestOutcome, failure: string | undefined, error: Error | undefined): void {
  if (failure !== undefined) {
    outcome.failure = failure;
    outcome.errorType = error !== undefined ? errorTypeOf(error) : outcome.status >= 400 ? String(outcome.status) : 'check_failed';
  }
  handle.finish(outcome);
}

/** Thrown into a task when its user is being stopped: the runner swallows it. */
export class UserStopped extends FirstspanError {
  constructor() {
    super('FS_ERR_USER_STOPPED', 'user stopped');
    this.name = 'UserStopped';
  }
}
