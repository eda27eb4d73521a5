// The web UI's flags (Locust's names: --web-host, --web-port, --autostart, --autoquit,
// --web-login) and firstspan's own --db, resolved once with the other `firstspan run` flags.
// Whether the page is served at all is decided here too: Locust serves it unless --headless.
import { numberFlag, type OptionSpec, type Problems } from '../../cli/args.ts';

export const WEB_FLAGS: OptionSpec = {
  'web-host': { type: 'string' },
  'web-port': { type: 'string' },
  autostart: { type: 'boolean' },
  autoquit: { type: 'string' },
  'web-login': { type: 'string' },
  db: { type: 'string' },
};

export const WEB_USAGE = `Web UI (served unless --headless; see below):
      --web-host HOST      address the web UI listens on (default 127.0.0.1)
      --web-port PORT      its port (default 8089; 0 picks a free one)
      --autostart          start the test at once with -u/-r/--host, as if started from the page
      --autoquit SECONDS   with --autostart: quit this long after the test ends
      --web-login USER:PASSWORD
                           HTTP basic auth for the page and the API; required when
                           --web-host is not a loopback address
      --db FILE            with --otel: the SQLite file a running 'firstspan receive' writes,
                           read-only: live gap, propagation coverage, the analyzer's report
  -t, -i and --json describe a run that needs no page: they imply --headless unless
  --autostart is given. --processes and --worker-count always run headless.
`;

export interface WebOptions {
  /** Serve the page (false: --headless, or implied by the flags above). */
  enabled: boolean;
  host: string;
  port: number;
  autostart: boolean;
  /** Seconds after the end of an autostarted test before the process quits; undefined: stay. */
  autoquitS: number | undefined;
  login: { user: string; password: string } | undefined;
  db: string | undefined;
}

export const DEFAULT_WEB_PORT = 8089;

/** Loopback addresses: the only ones the page may listen on without a login. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function parseWebOptions(
  v: Record<string, string | boolean | undefined>,
  problems: Problems,
  implied: { headless: boolean; nonInteractive: boolean; multiProcess: boolean; otel: boolean },
): WebOptions {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const autostart = v.autostart === true;
  const enabled = !implied.headless && !implied.multiProcess && (autostart || !implied.nonInteractive);
  const host = str('web-host') ?? '127.0.0.1';
  if (host.trim() === '') problems.add('--web-host needs an address, e.g. --web-host 127.0.0.1');
  const port = numberFlag(problems, '--web-port', str('web-port'), { min: 0, integer: true }) ?? DEFAULT_WEB_PORT;
  if (port > 65535) problems.add(`--web-port must be at most 65535, got ${port}`);
  const autoquitS = numberFlag(problems, '--autoquit', str('autoquit'), { min: 0 });
  if (autoquitS !== undefined && !autostart) problems.add('--autoquit only works with --autostart');
  let login: WebOptions['login'];
  const rawLogin = str('web-login');
  if (rawLogin !== undefined) {
    const colon = rawLogin.indexOf(':');
    if (colon <= 0 || colon === rawLogin.length - 1) problems.add(`--web-login must be USER:PASSWORD, got '${rawLogin.replace(/:.*/, ':…')}'`);
    else login = { user: rawLogin.slice(0, colon), password: rawLogin.slice(colon + 1) };
  }
  if (enabled && rawLogin === undefined && !isLoopback(host)) {
    problems.add(`--web-host ${host} is not a loopback address: anyone who reaches it could start load; add --web-login USER:PASSWORD`);
  }
  const db = str('db');
  if (db !== undefined && db.trim() === '') problems.add('--db needs the receiver\'s database file, e.g. --db firstspan.db');
  if (db !== undefined && !implied.otel) problems.add('--db reads the spans the generator sends: add --otel (and run firstspan receive --db FILE)');
  return { enabled, host, port, autostart, autoquitS, login, db };
}
