// The baseline comparison's three renderings (analyzer/render-comparison.ts) in process, from a
// comparison built by hand, so every figure's expected text is written out here rather than
// produced by the renderer under test: the text after the table, the CSV rows, the HTML section.
import { describe, expect, it } from 'vitest';
import type { Comparison, EndpointComparison, MetricChange } from '../analyzer/compare.ts';
import { COMPARISON_CSV_COLUMNS, comparisonCsv, comparisonHtml, comparisonText } from '../analyzer/render-comparison.ts';

function change(metric: string, baselineMs: number, runMs: number, over: Partial<MetricChange> = {}): MetricChange {
  const changeMs = runMs - baselineMs;
  return {
    metric,
    baselineMs,
    runMs,
    changeMs,
    changePct: baselineMs === 0 ? null : (changeMs / baselineMs) * 100,
    test: 'quantile',
    pValue: 0.5,
    significant: false,
    ...over,
  };
}

const checkout: EndpointComparison = {
  name: 'POST /checkout',
  onlyIn: null,
  baselineCount: 1200,
  runCount: 1180,
  changes: [
    // Each magnitude band of the millisecond format: ≥ 100 whole, ≥ 10 one decimal, else two.
    change('client.p99', 250.4, 312.6, { changeMs: 62.2, changePct: 24.84, pValue: 0.00002, significant: true }),
    change('gap.mean', 12.34, 9.87, { changeMs: -2.47, changePct: -20.02, test: 'mann-whitney', pValue: 0.0031, significant: true }),
    change('phase.connect', 0, 1.5, { test: 'mann-whitney', pValue: 0.004, significant: true }),
    change('server.p50', 40, 41, { pValue: 0.62 }),
    // The bands' edges, and a p-value just at the "<1e-4" cut.
    change('server.p90', 100, 10, { pValue: 0.0001 }),
    change('client.max', 900, 1500, { test: null, pValue: null }),
  ],
};

const quiet: EndpointComparison = { name: 'GET /health', onlyIn: null, baselineCount: 300, runCount: 310, changes: [change('client.p50', 1, 1.01, { pValue: 0.9 })] };
const added: EndpointComparison = { name: 'GET /new', onlyIn: 'run', baselineCount: 0, runCount: 42, changes: [] };
const removed: EndpointComparison = { name: 'GET /old', onlyIn: 'baseline', baselineCount: 17, runCount: 0, changes: [] };

function comparison(endpoints: EndpointComparison[]): Comparison {
  return {
    run: { label: 'r2', service: 'locust', start: '2026-11-30T10:00:00.000Z', databases: ['run.db'] },
    baseline: { label: 'r1', service: 'locust', start: '2026-11-29T10:00:00.000Z', databases: ['base.db', 'base-2.db'] },
    alpha: 0.01,
    endpoints,
  };
}

describe('comparison as text', () => {
  it('heads with both runs, counts the significant changes, and tables only those, aligned', () => {
    const text = comparisonText(comparison([checkout, quiet, added, removed]));
    expect(text.split('\n')).toEqual([
      '',
      'Run r2 against baseline r1 (2026-11-29T10:00:00.000Z, base.db, base-2.db):',
      '  3 significant changes (family-wise alpha 0.01, Holm-corrected):',
      '  POST /checkout (1200 → 1180 requests):',
      '    Metric         Baseline   Run  Change ms  Change       p',
      '    client.p99          250   313      +62.2  +24.8%   <1e-4',
      '    gap.mean           12.3  9.87      -2.47  -20.0%  0.0031',
      '    phase.connect      0.00  1.50      +1.50       –  0.0040',
      '  GET /health: no significant change (300 → 310 requests)',
      '  GET /new: only in the run (42 requests)',
      '  GET /old: only in the baseline (17 requests)',
      '',
    ]);
  });

  it('says "no significant change" with the tests used when nothing moved, and names a single change in the singular', () => {
    const none = comparisonText({ ...comparison([quiet]), baseline: { ...comparison([]).baseline, databases: [] } });
    expect(none.split('\n').slice(1, 3)).toEqual([
      'Run r2 against baseline r1 (2026-11-29T10:00:00.000Z):',
      '  no significant change (family-wise alpha 0.01, Holm-corrected; percentiles: difference over its order-statistic standard error, means and parts: Mann-Whitney U)',
    ]);
    const one = comparisonText(comparison([{ ...checkout, changes: [checkout.changes[0] as MetricChange] }]));
    expect(one).toContain('\n  1 significant change (family-wise alpha 0.01, Holm-corrected):\n');
  });

  it('keeps control characters of a span name away from the terminal', () => {
    const text = comparisonText(comparison([{ ...removed, name: 'GET /\u001b[31mred' }]));
    expect(text).toContain('  GET /?[31mred: only in the baseline (17 requests)');
    expect(text).not.toContain('\u001b');
  });
});

describe('comparison as CSV', () => {
  it('writes one row per metric of every endpoint, empty cells for no test and no percentage, CRLF line ends', () => {
    const csv = comparisonCsv(comparison([checkout, added]));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(COMPARISON_CSV_COLUMNS.join(','));
    expect(lines.slice(1)).toEqual([
      'r2,r1,POST /checkout,client.p99,250.4,312.6,62.2,24.84,quantile,0.00002,true',
      'r2,r1,POST /checkout,gap.mean,12.34,9.87,-2.47,-20.02,mann-whitney,0.0031,true',
      'r2,r1,POST /checkout,phase.connect,0,1.5,1.5,,mann-whitney,0.004,true',
      'r2,r1,POST /checkout,server.p50,40,41,1,2.5,quantile,0.62,false',
      'r2,r1,POST /checkout,server.p90,100,10,-90,-90,quantile,0.0001,false',
      'r2,r1,POST /checkout,client.max,900,1500,600,66.66666666666666,,,false',
      '',
    ]);
  });

  it('quotes an endpoint name that holds a comma or quote, and defuses one a spreadsheet would run as a formula', () => {
    const csv = comparisonCsv(comparison([{ ...quiet, name: 'GET /a,"b"' }, { ...quiet, name: '=HYPERLINK("x")' }]));
    expect(csv.split('\r\n').slice(1, 3)).toEqual([
      'r2,r1,"GET /a,""b""",client.p50,1,1.01,0.010000000000000009,1.0000000000000009,quantile,0.9,false',
      `r2,r1,"'=HYPERLINK(""x"")",client.p50,1,1.01,0.010000000000000009,1.0000000000000009,quantile,0.9,false`,
    ]);
  });
});

/** The cells of the table row of `metric`, tags stripped. */
function rowCells(html: string, metric: string): { cls: string; cells: string[]; bars: string[] } {
  const row = new RegExp(`<tr class="([^"]*)" data-metric="${metric.replace('.', '\\.')}">(.*?)</tr>`).exec(html);
  if (row === null) throw new Error(`no row for ${metric}`);
  const body = row[2] as string;
  const cells = [...body.matchAll(/<td>(.*?)<\/td>/g)].map((m) => (m[1] as string).replace(/<[^>]*>/g, '').trim());
  const bars = [...body.matchAll(/class="cmp-bar (\w+)" style="width:([\d.]+)px"/g)].map((m) => `${m[1]} ${m[2]}`);
  return { cls: row[1] as string, cells, bars };
}

describe('comparison as HTML', () => {
  // Rendered inside each test (not once for the block), so that mutation testing sees which test covers which line.
  const rendered = (): string => comparisonHtml(comparison([checkout, quiet, added]));

  it('lists the significant changes first, then a table per endpoint with the two runs side by side', () => {
    const html = rendered();
    expect(html).toContain('<h2>Run r2 against baseline r1 (2026-11-29T10:00:00.000Z, base.db, base-2.db)</h2>');
    expect(html).toContain('at a family-wise alpha of 0.01');
    const summary = /<ul>(.*?)<\/ul>/.exec(html)?.[1] ?? '';
    expect([...summary.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1])).toEqual([
      '<code>POST /checkout</code> client.p99: 250 → 313 ms (+62.2 ms, +24.8%)',
      '<code>POST /checkout</code> gap.mean: 12.3 → 9.87 ms (-2.47 ms, -20.0%)',
      '<code>POST /checkout</code> phase.connect: 0.00 → 1.50 ms (+1.50 ms, –)',
    ]);
    expect(html.indexOf('<ul>')).toBeLessThan(html.indexOf('<table'));
    expect(html).toContain('<h4>POST /checkout <small>1200 → 1180 requests</small></h4>');
    expect(html).toContain('<th>Baseline r1</th><th>Run r2</th>');
    expect(html).toContain('<h4>GET /new</h4><p>Only in the run.</p>');
  });

  it('marks each row significant, noise or untested, and scales its bars to the endpoint\'s largest figure', () => {
    const html = rendered();
    expect(rowCells(html, 'client.p99')).toEqual({ cls: 'significant', cells: ['client.p99', '250', '313', '+62.2', '+24.8%', '<1e-4', 'significant'], bars: ['base 20.0', 'run 25.0'] });
    expect(rowCells(html, 'server.p50')).toEqual({ cls: '', cells: ['server.p50', '40.0', '41.0', '+1.00', '+2.5%', '0.6200', 'noise'], bars: ['base 3.2', 'run 3.3'] });
    expect(rowCells(html, 'server.p90')).toEqual({ cls: '', cells: ['server.p90', '100', '10.0', '-90.0', '-90.0%', '0.0001', 'noise'], bars: ['base 8.0', 'run 0.8'] });
    // The largest figure of the endpoint (client.max's run, 1500 ms) is the full 120 px.
    expect(rowCells(html, 'client.max')).toEqual({ cls: '', cells: ['client.max', '900', '1500', '+600', '+66.7%', '–', 'untested'], bars: ['base 72.0', 'run 120.0'] });
  });

  it('says so when nothing is significant, and escapes names and labels', () => {
    const plain = comparisonHtml({ ...comparison([{ ...quiet, name: '<script>x</script>' }]), run: { ...comparison([]).run, label: 'a&b' } });
    expect(plain).toContain('<p>No significant change.</p>');
    expect(plain).not.toContain('<ul>');
    expect(plain).not.toContain('<script>x');
    expect(plain).toContain('<h4>&lt;script&gt;x&lt;/script&gt; <small>');
    expect(plain).toContain('<th>Run a&amp;b</th>');
    expect(rowCells(plain, 'client.p50').bars).toEqual(['base 118.8', 'run 120.0']);
  });

  it('draws no bar wider than zero for an endpoint whose figures are all zero', () => {
    const zero = comparisonHtml(comparison([{ ...quiet, changes: [change('gap.p50', 0, 0, { pValue: 1 })] }]));
    expect(rowCells(zero, 'gap.p50').bars).toEqual(['base 0.0', 'run 0.0']);
  });
});
