// The small pieces every renderer shares (analyzer/render-shared.ts): HTML escaping and printable
// terminal text for names that come from spans, the charts' axis maximum, a series line, a legend.
import { describe, expect, it } from 'vitest';
import { esc, legend, niceMax, polyline, printable } from '../analyzer/render-shared.ts';

describe('render-shared', () => {
  it('escapes every character HTML gives a meaning', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(esc('plain /cart/{id}')).toBe('plain /cart/{id}');
  });

  it('replaces control characters and cuts long text with an ellipsis at the limit', () => {
    expect(printable('a\u001b[31mred\u0007\u009b')).toBe('a?[31mred??');
    expect(printable('x'.repeat(48))).toBe('x'.repeat(48));
    expect(printable('x'.repeat(49))).toBe(`${'x'.repeat(47)}…`);
    expect(printable('abcdef', 4)).toBe('abc…');
  });

  it('rounds an axis maximum up to 1, 2 or 5 times a power of ten, and takes 1 for nothing to show', () => {
    expect([0.7, 1, 1.01, 2, 2.5, 5, 7, 10, 11, 180, 0.013].map(niceMax)).toEqual([1, 1, 2, 2, 5, 5, 10, 10, 20, 200, 0.02]);
    for (const v of [0, -3, NaN]) expect(niceMax(v), String(v)).toBe(1);
  });

  it('draws a series only when it has points, naming it escaped, dashed when asked', () => {
    expect(polyline([], '#000', 'p50')).toBe('');
    const line = polyline([[0, 1], [2.25, 3.5]], '#123', 'p<99>', '4 2');
    expect(line).toContain('points="0.0,1.0 2.3,3.5"');
    expect(line).toContain('data-series="p&lt;99&gt;"');
    expect(line).toContain('stroke-dasharray="4 2"');
    expect(polyline([[0, 1]], '#123', 'p50')).not.toContain('stroke-dasharray');
    expect(legend([['#f00', 'a&b']])).toBe('<div class="legend"><span><i style="background:#f00"></i>a&amp;b</span></div>');
  });
});
