// One base error with a stable code (as undici's UND_ERR_* and fastify's FST_ERR_*).
// Codes are listed in docs/errors.md; tests match on `code`, never on message text.

export class FirstspanError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FirstspanError';
    this.code = code;
  }
}

export const ErrorCodes = {
  /** Flags or environment that cannot be used; the message lists every problem. */
  BAD_CONFIG: 'FS_ERR_BAD_CONFIG',
  /** An OTLP request body that cannot be decoded. */
  OTLP_DECODE: 'FS_ERR_OTLP_DECODE',
  /** An OTLP request body larger than the configured limit (before or after decompression). */
  OTLP_TOO_LARGE: 'FS_ERR_OTLP_TOO_LARGE',
  /** A database file that is missing, not SQLite, or of an unknown schema version. */
  STORE_OPEN: 'FS_ERR_STORE_OPEN',
  /** A load-test script that cannot be loaded or defines no user class. */
  SCRIPT_LOAD: 'FS_ERR_SCRIPT_LOAD',
  /** The kernel-level TCP handshake hold could not be set up (not Linux, not root, no NFQUEUE). */
  HANDSHAKE_HOLD: 'FS_ERR_HANDSHAKE_HOLD',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

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
