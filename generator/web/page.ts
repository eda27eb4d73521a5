// The web UI's HTML shell. Everything that comes from the script or the command line is escaped;
// everything that comes from the target later (names, errors) is written by app.js as text nodes.
import { GRACE_MS } from './live-gap.ts';

export interface PageConfig {
  script: string;
  users: number;
  spawnRate: number;
  host: string;
  /** --otel given: spans go to a receiver. */
  otel: boolean;
  /** --db given: the live gap and the report are on. */
  db: string | undefined;
  version: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

export function renderPage(c: PageConfig): string {
  const e = escapeHtml;
  const gapNote = c.db !== undefined
    ? `spans read from ${e(c.db)}`
    : c.otel
      ? 'add --db FILE (the database firstspan receive writes) to see the gap and propagation live'
      : 'run with --otel --db FILE to see the gap and propagation live';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>firstspan · ${e(c.script)}</title>
<link rel="stylesheet" href="assets/uplot.min.css"><link rel="stylesheet" href="assets/app.css">
</head><body data-has-db="${c.db !== undefined}">
<header>
  <div class="brand">firstspan <span class="script" title="the script">${e(c.script)}</span></div>
  <dl class="status">
    <div><dt>State</dt><dd id="state">ready</dd></div>
    <div><dt>Host</dt><dd id="host-now">${e(c.host)}</dd></div>
    <div><dt>Users</dt><dd id="user-count">0</dd></div>
    <div><dt>RPS</dt><dd id="total-rps">0</dd></div>
    <div><dt>Failures</dt><dd id="fail-ratio">0 %</dd></div>
    <div><dt>Run id</dt><dd id="run-id">–</dd></div>
  </dl>
  <form id="swarm" autocomplete="off">
    <label>Users <input name="user_count" id="users" type="number" min="0" step="1" required value="${c.users}"></label>
    <label>Spawn rate <input name="spawn_rate" id="spawn-rate" type="number" min="0.001" step="any" required value="${c.spawnRate}"></label>
    <label class="wide">Host <input name="host" id="host" type="url" placeholder="http://127.0.0.1:8080" value="${e(c.host)}"></label>
    <button type="submit" id="start">Start</button>
    <button type="button" id="stop" disabled>Stop</button>
    <button type="button" id="reset">Reset stats</button>
  </form>
  <p id="message" role="status"></p>
</header>
<div id="warnings" role="alert"></div>
<nav class="tabs">
  <a href="#charts">Charts</a><a href="#statistics">Statistics</a><a href="#gap">Gap &amp; propagation</a>
  <a href="#failures">Failures</a><a href="#exceptions">Exceptions</a><a href="#downloads">Downloads</a><a href="#report">Report</a>
</nav>
<main>
<section id="charts"><h2>Charts</h2>
  <div class="charts">
    <figure><figcaption>Requests/s and failures/s</figcaption><div class="chart" id="chart-rps"></div></figure>
    <figure><figcaption>Response time (ms), last 10 s: p50, p95, p99</figcaption><div class="chart" id="chart-times"></div></figure>
    <figure><figcaption>Users</figcaption><div class="chart" id="chart-users"></div></figure>
    <figure class="needs-db"><figcaption>Gap (ms): p50 of connection-opening and reused requests</figcaption><div class="chart" id="chart-gap"></div></figure>
  </div>
</section>
<section id="statistics"><h2>Statistics</h2>
  <div class="scroll"><table id="stats-table" data-empty="No requests yet"><thead><tr>
    <th>Type</th><th class="name">Name</th><th># Requests</th><th># Fails</th><th>Median (ms)</th><th>95%ile (ms)</th><th>99%ile (ms)</th>
    <th>Average (ms)</th><th>Min (ms)</th><th>Max (ms)</th><th>Average size (bytes)</th><th>Current RPS</th><th>Current failures/s</th>
  </tr></thead><tbody></tbody><tfoot></tfoot></table></div>
</section>
<section id="gap"><h2>Gap &amp; propagation <small>(beyond Locust: what the user waited that the server never saw)</small></h2>
  <p class="note">${gapNote}. A request is judged ${GRACE_MS / 1000} s after it ends: the target's spans arrive in batches.</p>
  <div class="scroll"><table id="gap-table" data-empty="No spans of this test in the database yet"><thead><tr>
    <th class="name">Endpoint</th><th>Requests</th><th>With server span</th><th>Coverage</th><th>Coverage, last 10 s</th><th>Opened a connection</th>
    <th>Gap p50 (ms)</th><th>Gap p99 (ms)</th><th>Gap p50, new connection (ms)</th><th>Gap p50, reused (ms)</th>
  </tr></thead><tbody></tbody><tfoot></tfoot></table></div>
</section>
<section id="failures"><h2>Failures</h2>
  <div class="scroll"><table id="failures-table" data-empty="No failures"><thead><tr><th># Occurrences</th><th>Method</th><th class="name">Name</th><th class="name">Message</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="exceptions"><h2>Exceptions</h2>
  <div class="scroll"><table id="exceptions-table" data-empty="No exceptions"><thead><tr><th>Count</th><th class="name">Message</th><th class="name">Traceback</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="downloads"><h2>Downloads</h2>
  <ul>
    <li><a href="stats/requests/csv" download>Statistics (CSV)</a></li>
    <li><a href="stats/failures/csv" download>Failures (CSV)</a></li>
    <li><a href="exceptions/csv" download>Exceptions (CSV)</a></li>
    <li><a href="stats/json" download>Summary (JSON, as firstspan run --json)</a></li>
    <li><a href="stats/requests">Locust's /stats/requests (JSON)</a></li>
  </ul>
</section>
<section id="report"><h2>Report</h2>
  <p id="report-status">${c.db !== undefined ? 'The analyzer\'s report appears here when the test stops.' : 'With --otel --db FILE, the analyzer\'s report for the test appears here when it stops.'}</p>
  <p><a id="report-link" href="report" target="_blank" rel="noopener" hidden>Open the report in its own tab</a></p>
  <iframe id="report-frame" title="the analyzer's report" sandbox="allow-scripts" hidden></iframe>
</section>
</main>
<footer>firstspan ${e(c.version)} · Locust's web API: POST /swarm, /stop, /stats/reset · GET /stats/requests</footer>
<script src="assets/uplot.min.js"></script><script src="assets/app.js"></script>
</body></html>
`;
}
