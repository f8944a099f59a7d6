import type { Bucket } from '../policy/attainment.js';
import type { ComplianceReport } from './compliance.js';
import type { HostEvidence } from './evidence.js';

/**
 * The compliance report as CSV (one row per bucket: section, key and the figures) and as one
 * self-contained HTML page (inline CSS and SVG charts, no script, no external resource) that
 * Chromium prints to PDF (compliance-pdf.ts).
 */
const COLUMNS = ['section', 'key', 'due', 'met', 'missed', 'share', 'fixed', 'mean_days_to_remediate', 'p90_days_to_remediate', 'open_past_deadline'] as const;

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it as a formula. */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function sections(r: ComplianceReport): [string, Bucket[]][] {
  const a = r.attainment;
  return [
    ['overall', [a.overall]],
    ['severity', a.bySeverity],
    ['kev', [a.kev]],
    ['policy', a.byPolicy],
    ['release', a.byRelease],
    ['month', a.byMonth],
  ];
}

export function complianceCsv(r: ComplianceReport): string {
  const lines = [COLUMNS.join(',')];
  for (const [section, buckets] of sections(r))
    for (const b of buckets)
      lines.push(
        [
          section,
          b.key,
          b.due,
          b.met,
          b.missed,
          b.share === null ? null : Math.round(b.share * 10000) / 10000,
          b.fixed,
          b.meanDaysToRemediate,
          b.p90DaysToRemediate,
          b.openPastDeadline,
        ]
          .map(csvField)
          .join(','),
      );
  return lines.join('\r\n') + '\r\n';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);
const num = (x: number | null): string => (x === null ? '–' : String(x));

/** A bar chart of attainment shares (0–100 %), one bar per bucket, with its label and value. */
export function shareChart(title: string, buckets: readonly Bucket[]): string {
  const w = 680;
  const h = 220;
  const left = 40;
  const bottom = 40;
  const plotH = h - bottom - 20;
  const n = Math.max(1, buckets.length);
  const slot = (w - left - 10) / n;
  const bars = buckets
    .map((b, i) => {
      const x = left + i * slot + slot * 0.15;
      const bw = slot * 0.7;
      const v = b.share ?? 0;
      const bh = v * plotH;
      const y = 20 + plotH - bh;
      const color = b.share === null ? '#bbb' : b.share >= 0.95 ? '#2e7d32' : b.share >= 0.8 ? '#f9a825' : '#c62828';
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"><title>${escapeHtml(b.key)}: ${pct(b.share)} (${String(b.met)}/${String(b.due)})</title></rect>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(h - bottom + 14).toFixed(1)}" font-size="10" text-anchor="middle">${escapeHtml(b.key)}</text>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="9" text-anchor="middle">${b.share === null ? '' : Math.round(b.share * 100).toString()}</text>`
      );
    })
    .join('');
  const grid = [0, 0.5, 1]
    .map((g) => {
      const y = 20 + plotH - g * plotH;
      return `<line x1="${String(left)}" x2="${String(w - 10)}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/><text x="${String(left - 4)}" y="${(y + 3).toFixed(1)}" font-size="9" text-anchor="end">${String(g * 100)}%</text>`;
    })
    .join('');
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${String(w)}" height="${String(h)}" viewBox="0 0 ${String(w)} ${String(h)}" role="img" aria-label="${escapeHtml(title)}">${grid}${bars}</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`;
}

function table(title: string, buckets: readonly Bucket[]): string {
  const rows = buckets
    .map(
      (b) =>
        `<tr><td>${escapeHtml(b.key)}</td><td>${String(b.due)}</td><td>${String(b.met)}</td><td>${String(b.missed)}</td><td>${pct(b.share)}</td><td>${String(b.fixed)}</td><td>${num(b.meanDaysToRemediate)}</td><td>${num(b.p90DaysToRemediate)}</td><td>${String(b.openPastDeadline)}</td></tr>`,
    )
    .join('');
  return `<h2>${escapeHtml(title)}</h2><table><thead><tr><th></th><th>due</th><th>met</th><th>missed</th><th>within deadline</th><th>fixed</th><th>mean days to remediate</th><th>p90 days</th><th>open past deadline</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const STYLE = `body{font-family:sans-serif;font-size:12px;margin:24px;color:#222}h1{font-size:20px}h2{font-size:15px;margin-top:22px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
figure{margin:8px 0;page-break-inside:avoid}figcaption{font-size:11px;color:#555}.meta{color:#555}table{page-break-inside:auto}tr{page-break-inside:avoid}`;

export function complianceHtml(r: ComplianceReport): string {
  const a = r.attainment;
  const d = r.deadlines;
  const days =
    d.days === null
      ? ''
      : Object.entries(d.days)
          .map(([s, n]) => `${s} ${String(n)} days`)
          .join(', ');
  const holds = r.exceptions.holds
    .map(
      (h) =>
        `<tr><td>${escapeHtml(h.policy)}</td><td>${escapeHtml(h.advisory)}</td><td>${escapeHtml(h.decidedBy)}</td><td>${escapeHtml(h.decidedAt)}</td><td>${escapeHtml(h.reason)}</td><td>${escapeHtml(h.until ?? '–')}</td><td>${escapeHtml(h.revokedAt ?? '–')}</td></tr>`,
    )
    .join('');
  const accepted = r.exceptions.acceptedRisks
    .map(
      (x) =>
        `<tr><td>${escapeHtml(x.host)}</td><td>${escapeHtml(x.advisory)}</td><td>${escapeHtml(x.package)}</td><td>${escapeHtml(x.severity)}</td><td>${escapeHtml(x.decidedBy)}</td><td>${escapeHtml(x.decidedAt ?? '–')}</td><td>${escapeHtml(x.reason ?? '–')}</td><td>${escapeHtml(x.acceptedUntil ?? 'no expiry')}</td></tr>`,
    )
    .join('');
  const overdue = r.overdue
    .slice(0, 100)
    .map(
      (x) =>
        `<tr><td>${escapeHtml(x.host)}</td><td>${escapeHtml(x.advisory)}</td><td>${escapeHtml(x.package)}</td><td>${escapeHtml(x.severity)}</td><td>${escapeHtml(x.deadline.slice(0, 10))}</td><td>${String(x.daysOverdue)}</td></tr>`,
    )
    .join('');
  const nc = r.notCounted;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bulwark compliance report ${escapeHtml(r.period.from.slice(0, 10))} – ${escapeHtml(r.period.to.slice(0, 10))}</title><style>${STYLE}</style></head><body>
<h1>Patch SLA compliance report</h1>
<p class="meta">Period ${escapeHtml(r.period.from)} to ${escapeHtml(r.period.to)} · generated ${escapeHtml(r.generatedAt)} by Bulwark<br>
Deadlines: <b>${escapeHtml(d.name)}</b> — ${escapeHtml(d.description)}${days === '' ? '' : ` (${escapeHtml(days)} from first sight${d.kevDueDate ? "; KEV by CISA's due date when earlier" : ''})`}</p>
<p><b>${pct(a.overall.share)}</b> of the ${String(a.overall.due)} findings due in the period were fixed within their deadline; ${String(a.overall.openPastDeadline)} are open past their deadline at its end. Mean time to remediate ${num(a.overall.meanDaysToRemediate)} days, 90th percentile ${num(a.overall.p90DaysToRemediate)} days (${String(a.overall.fixed)} fixed).</p>
<p class="meta">Not counted: ${String(nc.accepted)} accepted risks (listed below), ${String(nc.noFix)} without a fix, ${String(nc.withdrawn)} withdrawn by their feed, ${String(nc.noDeadline)} of a severity without a deadline.</p>
${shareChart('Within deadline, per month (by the month of the deadline)', a.byMonth)}
${shareChart('Within deadline, per severity', [...a.bySeverity, a.kev])}
${table('Per severity (and KEV)', [...a.bySeverity, a.kev])}
${table('Per policy', a.byPolicy)}
${table('Per release', a.byRelease)}
${table('Per month', a.byMonth)}
<h2>Exceptions: holds</h2><table><thead><tr><th>policy</th><th>advisory</th><th>decided by</th><th>at</th><th>why</th><th>until</th><th>lifted</th></tr></thead><tbody>${holds === '' ? '<tr><td colspan="7">none</td></tr>' : holds}</tbody></table>
<h2>Exceptions: accepted risks</h2><table><thead><tr><th>host</th><th>advisory</th><th>package</th><th>severity</th><th>decided by</th><th>decided at</th><th>why</th><th>until</th></tr></thead><tbody>${accepted === '' ? '<tr><td colspan="8">none</td></tr>' : accepted}</tbody></table>
<h2>Open past deadline (${String(r.overdue.length)}${r.overdue.length > 100 ? ', the 100 oldest shown' : ''})</h2><table><thead><tr><th>host</th><th>advisory</th><th>package</th><th>severity</th><th>deadline</th><th>days overdue</th></tr></thead><tbody>${overdue === '' ? '<tr><td colspan="6">none</td></tr>' : overdue}</tbody></table>
</body></html>
`;
}

export function evidenceHtml(e: HostEvidence): string {
  const runs = e.runs
    .map((r) => {
      const pk = r.packages
        .map(
          (p) =>
            `<tr><td>${escapeHtml(p.name)}</td><td>${escapeHtml(p.from ?? '–')}</td><td>${escapeHtml(p.to)}</td><td>${escapeHtml(p.advisories.join(', '))}</td></tr>`,
        )
        .join('');
      const ap = r.approvals.map((x) => `<li>${escapeHtml(x.advisory)}: ${escapeHtml(x.by)} at ${escapeHtml(x.at)} — ${escapeHtml(x.reason)}</li>`).join('');
      const cl = r.closed
        .map(
          (f) =>
            `<tr><td>${escapeHtml(f.advisory)}</td><td>${escapeHtml(f.package)}</td><td>${escapeHtml(f.installed)}</td><td>${escapeHtml(f.severity)}</td><td>${escapeHtml(f.closedAt)}</td></tr>`,
        )
        .join('');
      const st = r.steps.map((s) => `${escapeHtml(s.kind)} ${escapeHtml(s.state)}${s.exitCode === null ? '' : ` (exit ${String(s.exitCode)})`}`).join(' → ');
      return `<h2>Run ${String(r.run)} (${escapeHtml(r.policy)}, ${escapeHtml(r.status)})</h2><p>Started ${escapeHtml(r.createdAt)} by ${escapeHtml(r.startedBy)}. Steps: ${st}</p>
<table><thead><tr><th>package</th><th>from</th><th>to</th><th>advisories</th></tr></thead><tbody>${pk}</tbody></table><p>Approved:</p><ul>${ap === '' ? '<li>no approval recorded</li>' : ap}</ul>
<table><thead><tr><th>finding closed</th><th>package</th><th>installed before</th><th>severity</th><th>closed at</th></tr></thead><tbody>${cl === '' ? '<tr><td colspan="5">none</td></tr>' : cl}</tbody></table>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bulwark evidence ${escapeHtml(e.host)}</title><style>${STYLE}</style></head><body><h1>Patch evidence for ${escapeHtml(e.host)}</h1><p class="meta">${escapeHtml(e.period.from)} to ${escapeHtml(e.period.to)}: ${String(e.runs.length)} runs</p>${runs}</body></html>\n`;
}
