// Attribute names firstspan writes and reads. One place, so the generator, the store's hot
// columns and the analyzer cannot drift apart. Documented in docs/attributes.md.
// Standard names first (OTel semantic conventions); our own under the `firstspan.` namespace.

export const Resource = {
  SERVICE_NAME: 'service.name',
  /** Identifies one test run; all generator processes of a run share it. */
  RUN_ID: 'firstspan.run.id',
} as const;

export const Attr = {
  // Semantic conventions (stable HTTP client span attributes).
  HTTP_METHOD: 'http.request.method',
  HTTP_STATUS: 'http.response.status_code',
  URL_FULL: 'url.full',
  URL_PATH: 'url.path',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  ERROR_TYPE: 'error.type',
  // Old HTTP semantic conventions, as Locust's requests instrumentation still sends them.
  HTTP_METHOD_OLD: 'http.method',
  HTTP_STATUS_OLD: 'http.status_code',
  URL_OLD: 'http.url',

  /** The Locust-style request name that groups requests (`/product/{id}`). */
  REQUEST_NAME: 'firstspan.request.name',
  USER_CLASS: 'firstspan.user.class',
  /** Also set on each span so the run survives pipelines that drop resource attributes. */
  RUN_ID: 'firstspan.run.id',

  // Connection phases, milliseconds as doubles, in the order they happen. They tile the span:
  // blocked + dns + connect + tls + sending + waiting + receiving = span duration.
  // k6's vocabulary (blocked, connecting, tls_handshaking, sending, waiting, receiving), with
  // connecting split into DNS and TCP connect.
  PHASE_BLOCKED: 'firstspan.phase.blocked_ms',
  PHASE_DNS: 'firstspan.phase.dns_ms',
  PHASE_CONNECT: 'firstspan.phase.connect_ms',
  PHASE_TLS: 'firstspan.phase.tls_ms',
  PHASE_SENDING: 'firstspan.phase.sending_ms',
  PHASE_WAITING: 'firstspan.phase.waiting_ms',
  PHASE_RECEIVING: 'firstspan.phase.receiving_ms',
  /** false when this request opened the connection it used. */
  CONNECTION_REUSED: 'firstspan.connection.reused',
  /**
   * true on a request the run's stop cut off mid-flight (run time, shape end, Ctrl-C): its span
   * exists so the target's server span has its parent, but it measures no response and stays out
   * of the request stats. Absent on every other request span.
   */
  REQUEST_CUT_OFF: 'firstspan.request.cut_off',
} as const;

/** `error.type` of a request the run's stop cut off (with `firstspan.request.cut_off = true`). */
export const CUT_OFF_ERROR_TYPE = 'run_stopped';

export const PHASES = [
  ['blocked', Attr.PHASE_BLOCKED],
  ['dns', Attr.PHASE_DNS],
  ['connect', Attr.PHASE_CONNECT],
  ['tls', Attr.PHASE_TLS],
  ['sending', Attr.PHASE_SENDING],
  ['waiting', Attr.PHASE_WAITING],
  ['receiving', Attr.PHASE_RECEIVING],
] as const;
export type PhaseName = (typeof PHASES)[number][0];

/** Metric names the generator exports. */
export const Metric = {
  REQUEST_DURATION: 'firstspan.request.duration',
  ACTIVE_USERS: 'firstspan.users.active',
  // Locust's own names, so the analyzer can chart real Locust runs too.
  LOCUST_USERS: 'locust.users.count',
  LOCUST_DURATION: 'locust.client.duration',
} as const;
