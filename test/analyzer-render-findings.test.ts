// The findings of a run as text (after the table's summary) and as the HTML list
// (analyzer/render-findings.ts), from findings built by hand: the rule, the endpoint when there is
// one, the share explained, the summary, then every figure; nothing at all without a finding.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../analyzer/findings.ts';
import { findingsHtml, findingsText } from '../analyzer/render-findings.ts';

const churn: Finding = {
  rule: 'connection-churn',
  endpoint: 'GET /cart',
  summary: 'Requests that opened a connection waited 40 ms longer than those that reused one.',
  figures: { opened: 120, reused: 880, openedGapP50Ms: 42.5, reusedGapP50Ms: 2.5 },
  explainedShare: 0.634,
};

const clocks: Finding = {
  rule: 'clock-trouble',
  summary: 'The server host\'s clock is 3 s ahead.',
  figures: { service: 'shop', offsetMs: 3000, residualPairs: null },
  explainedShare: null,
};

describe('findings as text', () => {
  it('lists each finding with its rule, endpoint, share and summary, its figures on the line below, then a blank line', () => {
    expect(findingsText([churn, clocks])).toBe(
      [
        'Findings:',
        '  • [connection-churn] GET /cart (explains 63%): Requests that opened a connection waited 40 ms longer than those that reused one.',
        '      opened 120, reused 880, openedGapP50Ms 42.5, reusedGapP50Ms 2.5',
        "  • [clock-trouble]: The server host's clock is 3 s ahead.",
        '      service shop, offsetMs 3000, residualPairs –',
        '',
        '',
      ].join('\n'),
    );
  });

  it('prints nothing at all for a run without findings', () => {
    expect(findingsText([])).toBe('');
    expect(findingsHtml([])).toBe('');
  });

  it('keeps control characters out of the terminal and cuts an overlong summary and figure', () => {
    const hostile: Finding = { ...churn, endpoint: 'GET /\u001b[31m', summary: `${'x'.repeat(450)}`, figures: { note: `a\u0007${'y'.repeat(80)}` }, explainedShare: 0 };
    const lines = findingsText([hostile]).split('\n');
    expect(lines[1]).toBe(`  • [connection-churn] GET /?[31m (explains 0%): ${'x'.repeat(399)}…`);
    expect(lines[2]).toBe(`      note a?${'y'.repeat(57)}…`);
    expect(findingsText([hostile])).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe('findings as HTML', () => {
  it('makes one list item per finding, tagged with its rule, the figures in small print', () => {
    const html = findingsHtml([churn, clocks]);
    expect(html).toBe(
      '<h3>Findings</h3><ul class="findings">' +
        '<li class="finding" data-rule="connection-churn"><b>connection-churn</b> <code>GET /cart</code> (explains 63%): Requests that opened a connection waited 40 ms longer than those that reused one.' +
        '<br><small>opened 120 · reused 880 · openedGapP50Ms 42.5 · reusedGapP50Ms 2.5</small></li>' +
        '<li class="finding" data-rule="clock-trouble"><b>clock-trouble</b>: The server host&#39;s clock is 3 s ahead.' +
        '<br><small>service shop · offsetMs 3000 · residualPairs –</small></li>' +
        '</ul>',
    );
  });

  it('escapes the endpoint, the summary and the figures', () => {
    const html = findingsHtml([{ ...churn, endpoint: '<img src=x>', summary: 'a & b', figures: { '<k>': '"v"' } }]);
    expect(html).toContain('<code>&lt;img src=x&gt;</code>');
    expect(html).toContain(': a &amp; b<br>');
    expect(html).toContain('<small>&lt;k&gt; &quot;v&quot;</small>');
    expect(html).not.toContain('<img');
  });
});
