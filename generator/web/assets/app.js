// firstspan web UI, in the browser. Receives one update a second over server-sent events and
// draws it; every string from the script or the target goes into the page as a text node, never
// as markup. Charts: uPlot (served by firstspan itself).
/* global uPlot */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  /** A name that may wrap after / ? & but never inside a word. */
  const nameCell = (name) => {
    const td = el('td', undefined, 'name');
    td.title = name;
    for (const part of String(name).split(/(?<=[/?&])/)) {
      td.append(document.createTextNode(part), document.createElement('wbr'));
    }
    td.dataset.name = name;
    return td;
  };
  const fmt = (n, digits) => {
    if (n === null || n === undefined || Number.isNaN(n)) return '–';
    if (digits !== undefined) return n.toFixed(digits);
    if (n === 0) return '0';
    const a = Math.abs(n);
    return a < 10 ? n.toFixed(2) : a < 100 ? n.toFixed(1) : Math.round(n).toString();
  };
  const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(x >= 0.995 && x < 1 ? 1 : 0)} %`);

  // Charts -----------------------------------------------------------------------------------
  const data = { t: [], users: [], rps: [], fps: [], p50: [], p95: [], p99: [], gapOpened: [], gapReused: [] };
  const charts = [];
  const width = (node) => Math.max(300, node.clientWidth || 500);
  const makeChart = (id, series, keys) => {
    const node = $(id);
    const opts = {
      width: width(node),
      height: 220,
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
      axes: [
        // Whole seconds only, as wall-clock time: a test's second is the finest tick.
        { space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false })) },
        { size: 56 },
      ],
      legend: { live: false },
      series: [{}, ...series],
    };
    const chart = new uPlot(opts, [data.t, ...keys.map((k) => data[k])], node);
    charts.push({ chart, node, keys });
  };
  makeChart('chart-rps', [
    { label: 'req/s', stroke: '#1f6feb', width: 2 },
    { label: 'failures/s', stroke: '#c62828', width: 2 },
  ], ['rps', 'fps']);
  makeChart('chart-times', [
    { label: 'p50', stroke: '#2e7d32', width: 2 },
    { label: 'p95', stroke: '#ef6c00', width: 2 },
    { label: 'p99', stroke: '#6a1b9a', width: 2, dash: [6, 4] },
  ], ['p50', 'p95', 'p99']);
  makeChart('chart-users', [{ label: 'users', stroke: '#455a64', width: 2, fill: 'rgba(69,90,100,0.08)' }], ['users']);
  const hasDb = document.body.dataset.hasDb === 'true';
  if (hasDb) {
    makeChart('chart-gap', [
      { label: 'new connection', stroke: '#c62828', width: 2 },
      { label: 'reused', stroke: '#1f6feb', width: 2, dash: [6, 4] },
    ], ['gapOpened', 'gapReused']);
  }
  const redraw = () => {
    for (const { chart, node, keys } of charts) {
      chart.setData([data.t, ...keys.map((k) => data[k])]);
      // What the chart shows, readable without the canvas (and by the browser tests).
      const last = data.t.length - 1;
      node.dataset.points = String(data.t.length);
      for (const k of keys) node.dataset[k] = last >= 0 && data[k][last] !== null ? String(data[k][last]) : '';
    }
  };
  window.addEventListener('resize', () => {
    for (const { chart, node } of charts) chart.setSize({ width: width(node), height: 220 });
  });
  const clearCharts = () => {
    for (const k of Object.keys(data)) data[k].length = 0;
    redraw();
  };
  const push = (p, gap) => {
    data.t.push(p.t);
    data.users.push(p.users);
    data.rps.push(p.rps);
    data.fps.push(p.fps);
    data.p50.push(p.p50);
    data.p95.push(p.p95);
    data.p99.push(p.p99);
    data.gapOpened.push(gap ? gap.total.openedGapP50 : null);
    data.gapReused.push(gap ? gap.total.reusedGapP50 : null);
  };

  // Tables -----------------------------------------------------------------------------------
  const statsRow = (r, total) => {
    const tr = el('tr');
    tr.append(el('td', r.method, 'type'), nameCell(r.name));
    const cells = [
      ['requests', String(r.requests)],
      ['failures', String(r.failures)],
      ['median', fmt(r.medianMs)],
      ['p95', fmt(r.p95Ms)],
      ['p99', fmt(r.p99Ms)],
      ['average', fmt(r.averageMs)],
      ['min', fmt(r.minMs)],
      ['max', fmt(r.maxMs)],
      ['size', fmt(r.averageSize, 0)],
      ['rps', fmt(r.currentRps, 1)],
      ['fps', fmt(r.currentFailures, 1)],
    ];
    for (const [col, text] of cells) {
      const td = el('td', text);
      td.dataset.col = col;
      if (col === 'failures' && r.failures > 0) td.className = 'bad';
      tr.append(td);
    }
    if (total) tr.dataset.total = 'true';
    return tr;
  };
  const fill = (table, rows, foot) => {
    const body = table.tBodies[0];
    if (rows.length === 0) {
      const td = el('td', table.dataset.empty || 'None yet', 'empty');
      td.colSpan = table.tHead.rows[0].cells.length;
      rows = [el('tr')];
      rows[0].append(td);
    }
    body.replaceChildren(...rows);
    if (foot !== undefined) table.tFoot.replaceChildren(...foot);
  };
  const gapRow = (r) => {
    const tr = el('tr');
    tr.append(nameCell(r.name));
    const cells = [
      ['roots', String(r.roots)],
      ['matched', String(r.matched)],
      ['coverage', pct(r.coverage)],
      ['recent-coverage', pct(r.recentCoverage)],
      ['opened-share', pct(r.openedShare)],
      ['gap-p50', fmt(r.gapP50)],
      ['gap-p99', fmt(r.gapP99)],
      ['opened-gap-p50', fmt(r.openedGapP50)],
      ['reused-gap-p50', fmt(r.reusedGapP50)],
    ];
    for (const [col, text] of cells) {
      const td = el('td', text);
      td.dataset.col = col;
      if ((col === 'coverage' || col === 'recent-coverage') && r[col === 'coverage' ? 'coverage' : 'recentCoverage'] !== null && r[col === 'coverage' ? 'coverage' : 'recentCoverage'] < 0.95) td.className = 'bad';
      tr.append(td);
    }
    return tr;
  };

  // State ------------------------------------------------------------------------------------
  let reportShown = '';
  const show = (u) => {
    const state = $('state');
    state.textContent = u.state;
    state.dataset.state = u.state;
    $('user-count').textContent = String(u.userCount);
    $('total-rps').textContent = fmt(u.currentRps, 1);
    $('fail-ratio').textContent = `${(u.failRatio * 100).toFixed(u.failRatio > 0 && u.failRatio < 0.01 ? 2 : 0)} %`;
    $('run-id').textContent = u.runId;
    $('host-now').textContent = u.host || '–';
    const live = u.state === 'running' || u.state === 'spawning';
    $('stop').disabled = !live;
    $('start').textContent = live ? 'Update' : 'Start';
    fill($('stats-table'), u.rows.map((r) => statsRow(r, false)), [statsRow(u.total, true)]);
    fill($('failures-table'), u.failures.map((f) => {
      const tr = el('tr');
      tr.append(el('td', String(f.occurrences)), el('td', f.method, 'type'), nameCell(f.name), el('td', f.error, 'name'));
      return tr;
    }));
    fill($('exceptions-table'), u.exceptions.map((x) => {
      const tr = el('tr');
      const tb = el('td', undefined, 'name');
      tb.append(el('pre', x.traceback));
      tr.append(el('td', String(x.count)), el('td', x.message, 'name'), tb);
      return tr;
    }));
    const warnings = $('warnings');
    if (u.gap) {
      fill($('gap-table'), u.gap.endpoints.map(gapRow), [gapRow(u.gap.total)]);
      warnings.replaceChildren(...u.gap.warnings.map((w) => el('p', w)));
    } else warnings.replaceChildren();
    const r = u.report;
    const status = $('report-status');
    status.dataset.state = r.state;
    if (r.state === 'waiting') status.textContent = 'Waiting for the last spans to reach the receiver…';
    else if (r.state === 'making') status.textContent = 'The analyzer is making the report…';
    else if (r.state === 'failed') status.textContent = `No report: ${r.message || 'the analyzer failed'}`;
    else if (r.state === 'ready') status.textContent = `The analyzer's report for run ${r.runId}:`;
    if (r.state === 'ready' && reportShown !== r.runId) {
      reportShown = r.runId;
      const href = `report?run=${encodeURIComponent(r.runId)}`;
      const frame = $('report-frame');
      frame.src = href;
      frame.hidden = false;
      const link = $('report-link');
      link.href = href;
      link.hidden = false;
    } else if (r.state !== 'ready' && reportShown !== '') {
      reportShown = '';
      $('report-frame').hidden = true;
      $('report-link').hidden = true;
    }
  };

  const source = new EventSource('events');
  source.addEventListener('init', (event) => {
    const { points, update } = JSON.parse(event.data);
    for (const k of Object.keys(data)) data[k].length = 0;
    for (const p of points) push(p, null);
    redraw();
    show(update);
  });
  source.addEventListener('update', (event) => {
    const u = JSON.parse(event.data);
    if (u.point) {
      const last = data.t[data.t.length - 1];
      if (last !== undefined && u.point.t < last) clearCharts();
      push(u.point, u.gap);
      redraw();
    } else if (u.elapsedS === 0 || (u.total.requests === 0 && data.t.length > 0 && u.state !== 'stopped')) {
      clearCharts();
    }
    show(u);
  });

  // Controls ---------------------------------------------------------------------------------
  const message = (text, bad) => {
    const m = $('message');
    m.textContent = text;
    m.className = bad ? 'error' : '';
  };
  const post = async (path, body) => {
    const response = await fetch(path, { method: 'POST', body });
    const type = response.headers.get('content-type') || '';
    return type.includes('json') ? response.json() : { success: response.ok, message: await response.text() };
  };
  $('swarm').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new URLSearchParams(new FormData(event.target));
    const wasLive = $('stop').disabled === false;
    if (!wasLive) clearCharts();
    const result = await post('swarm', form);
    message(result.message, !result.success);
  });
  $('stop').addEventListener('click', async () => {
    message('Stopping: users run their onStop, spans are flushed…');
    const result = await post('stop');
    message(result.message, !result.success);
  });
  $('reset').addEventListener('click', async () => {
    await post('stats/reset');
    clearCharts();
    message('Stats reset');
  });
})();
