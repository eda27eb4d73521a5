// One registry of every error firstspan raises on purpose, one row per error (as fastify's
// lib/errors.js keeps them): its code, the HTTP status and gRPC status a client of the receiver gets
// (null for errors that never leave the command line), and a message template. The code is a
// literal union type (as undici's UND_ERR_* classes), so a typo does not compile.
// docs/errors.md lists every code; test/error-registry.test.ts keeps the two in step.
// Tests match on `code`, never on message text.
//
// Adding an error: add one row below (keep the FS_ERR_ prefix), document it in docs/errors.md, and
// throw `new FirstspanError('FS_ERR_…', message)` or `FirstspanError.of('FS_ERR_…', params)`.

/** gRPC status codes (google.rpc.Code; https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

interface ErrorRow {
  /** The status the receiver's OTLP/HTTP listener answers with; null: never sent to a client. */
  readonly http: number | null;
  /** The status the OTLP/gRPC listener answers with (and the `code` of an HTTP Status body). */
  readonly grpc: GrpcStatus | null;
  /** What went wrong and what to do; `{name}` is filled by FirstspanError.of(code, { name }). */
  readonly message: string;
}

const G = GrpcStatus;

export const ERRORS = {
  // The command line: flags, files, scripts (exit code 2, cli/report-error.ts).
  FS_ERR_BAD_CONFIG: { http: null, grpc: null, message: 'cannot use this configuration: {problems}' },
  FS_ERR_STORE_OPEN: { http: null, grpc: null, message: 'cannot open database {path}: {why}' },
  FS_ERR_SCRIPT_LOAD: { http: null, grpc: null, message: 'cannot load script {file}: {why}' },
  FS_ERR_SCRIPT_API: { http: null, grpc: null, message: '{call} needs {what}' },
  FS_ERR_HANDSHAKE_HOLD: { http: null, grpc: null, message: 'could not hold the TCP handshake: {why}' },
  // Not a failure: thrown into a task to unwind a user the runner is stopping; it swallows it.
  FS_ERR_USER_STOPPED: { http: null, grpc: null, message: 'user stopped' },
  // The receiver's answers (opentelemetry-proto docs/specification.md, "Failures" for OTLP/gRPC and
  // "Response" for OTLP/HTTP): bad data is not retried, pushed back is (with Retry-After).
  FS_ERR_OTLP_DECODE: { http: 400, grpc: G.INVALID_ARGUMENT, message: 'cannot decode the OTLP body: {why}' },
  FS_ERR_OTLP_TOO_LARGE: {
    http: 413,
    grpc: G.RESOURCE_EXHAUSTED,
    message: 'request body of {size} bytes is larger than the limit of {limit} bytes',
  },
  FS_ERR_OTLP_MEDIA_TYPE: { http: 415, grpc: G.INVALID_ARGUMENT, message: "unsupported {header} '{value}'; use {supported}" },
  FS_ERR_OTLP_METHOD: { http: 405, grpc: G.UNIMPLEMENTED, message: '{method} is not allowed on {path}; use POST' },
  FS_ERR_OTLP_NOT_FOUND: { http: 404, grpc: G.UNIMPLEMENTED, message: 'no such path {path}; OTLP/HTTP paths are {paths}' },
  FS_ERR_OTLP_UNAUTHENTICATED: {
    http: 401,
    grpc: G.UNAUTHENTICATED,
    message: 'missing or wrong bearer token: send {header}: Bearer <token>',
  },
  // Pushed back (write queue full, or too many request bytes in flight). UNAVAILABLE over gRPC,
  // because every OTLP client retries it (RESOURCE_EXHAUSTED only with RetryInfo); 429 over HTTP.
  FS_ERR_OTLP_BUSY: { http: 429, grpc: G.UNAVAILABLE, message: '{what}; retry later' },
  FS_ERR_OTLP_UNAVAILABLE: { http: 503, grpc: G.UNAVAILABLE, message: '{why}; retry later' },
  FS_ERR_OTLP_INTERNAL: { http: 500, grpc: G.INTERNAL, message: 'the receiver failed: {why}' },
} as const satisfies Record<`FS_ERR_${string}`, ErrorRow>;

export type ErrorCode = keyof typeof ERRORS;
/** The codes a receiver's client can get: the rows with an HTTP status. */
export type OtlpErrorCode = { [C in ErrorCode]: (typeof ERRORS)[C]['http'] extends number ? C : never }[ErrorCode];

type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;
/** The values a code's message template needs, by name. */
export type MessageParams<C extends ErrorCode> = Record<Placeholders<(typeof ERRORS)[C]['message']>, string | number>;

/** Each code by its short name: ErrorCodes.STORE_OPEN === 'FS_ERR_STORE_OPEN'. */
export const ErrorCodes = Object.fromEntries(Object.keys(ERRORS).map((code) => [code.slice('FS_ERR_'.length), code])) as {
  readonly [C in ErrorCode as C extends `FS_ERR_${infer Name}` ? Name : never]: C;
};

/** The message of `code` with its `{name}` placeholders filled. */
export function errorMessage<C extends ErrorCode>(code: C, params: MessageParams<C>): string {
  const values = params as Record<string, string | number>;
  return ERRORS[code].message.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** The one base class: every error raised on purpose has a registered code. */
export class FirstspanError extends Error {
  readonly code: ErrorCode;
  /** `message` says what went wrong and what to do; prefer FirstspanError.of for the template. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FirstspanError';
    this.code = code;
  }

  /** The error with its registered message template filled. */
  static of<C extends ErrorCode>(code: C, params: MessageParams<C>, options?: { cause?: unknown }): FirstspanError {
    return new FirstspanError(code, errorMessage(code, params), options);
  }
}

/** Exit codes are a contract (documented in docs/cli.md). */
export const ExitCodes = {
  OK: 0,
  /** generator: at least one request failed. */
  REQUEST_FAILURES: 1,
  /** demo: the ground-truth check did not find the injected delay within its tolerance. */
  DEMO_CHECK_FAILED: 1,
  /** bad usage: flags, config, script, database. */
  USAGE: 2,
  /** analyzer: a threshold or coverage gate was breached (k6 uses 99 for the same). */
  THRESHOLDS_FAILED: 99,
  /** analyzer: the database holds no run that matches the filters. */
  NO_RUNS: 3,
  /** unexpected internal error. */
  INTERNAL: 70,
  /** stopped by a signal before finishing cleanly. */
  INTERRUPTED: 130,
} as const;
