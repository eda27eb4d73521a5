// The findings of a run (findings.ts) as text for the table and as an HTML list: the summary
// sentence, then the figures behind it. Nothing when the data supports no finding.
import type { Finding } from './findings.ts';
import { esc, printable } from './render-shared.ts';

function figure(v: number | string | null): string {
  return v === null ? '–' : String(v);
}

function share(f: Finding): string {
  return f.explainedShare === null ? '' : ` (explains ${(f.explainedShare * 100).toFixed(0)}%)`;
}

export function findingsText(findings: Finding[]): string {
  if (findings.length === 0) return '';
  const lines = ['Findings:'];
  for (const f of findings) {
    lines.push(`  • [${f.rule}]${f.endpoint === undefined ? '' : ` ${printable(f.endpoint)}`}${share(f)}: ${printable(f.summary, 400)}`);
    lines.push(`      ${Object.entries(f.figures).map(([k, v]) => `${k} ${printable(figure(v), 60)}`).join(', ')}`);
  }
  return lines.join('\n') + '\n\n';
}

export function findingsHtml(findings: Finding[]): string {
  if (findings.length === 0) return '';
  const items = findings
    .map(
      (f) =>
        `<li class="finding" data-rule="${esc(f.rule)}"><b>${esc(f.rule)}</b>${f.endpoint === undefined ? '' : ` <code>${esc(f.endpoint)}</code>`}${esc(share(f))}: ${esc(f.summary)}` +
        `<br><small>${Object.entries(f.figures).map(([k, v]) => `${esc(k)} ${esc(figure(v))}`).join(' · ')}</small></li>`,
    )
    .join('');
  return `<h3>Findings</h3><ul class="findings">${items}</ul>`;
}
