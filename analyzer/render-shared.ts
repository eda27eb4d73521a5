// Small pieces every renderer uses: escaping for HTML, printable text for the terminal, and the
// SVG chart bits (axis maximum, series line, legend) that charts in several files share.

/** Every string that came from a span (names, services, run ids) is untrusted: escape it for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Strip control characters so a hostile span name cannot drive the terminal. */
export function printable(text: string, max = 48): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at or above v. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * The x geometry of the HTML report's per-second charts (viewBox width, left and right margins):
 * the timeline's throughput and latency charts and the server-metric charts under them share it,
 * so the same second lands on the same x in each.
 */
export const TIMELINE_X = { W: 1200, L: 64, R: 110 } as const;

export function polyline(points: Array<[number, number]>, color: string, label: string, dash = '', width = 1.6): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline class="series" data-series="${esc(label)}" fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${d}"><title>${esc(label)}</title></polyline>`;
}

export function legend(items: Array<[string, string]>): string {
  return `<div class="legend">${items.map(([c, l]) => `<span><i style="background:${c}"></i>${esc(l)}</span>`).join('')}</div>`;
}
