import { SEVERITIES, severityRank, type Severity } from '../core/advisory.js';
import type { ByteChunks } from '../lib/byte-chunks.js';
import type { FindingRow } from '../storage/index.js';
import { plural } from '../lib/words.js';

/**
 * Report renderers (issue #4): CSV, CycloneDX VEX and a self-contained HTML page. Pure: rows in,
 * text out. Everything from a feed or a host is escaped for its format (CSV formula injection,
 * HTML), since advisory titles and package names are untrusted text.
 */

/** RFC 4180 quoting, and a leading quote on cells a spreadsheet would run as a formula. */
function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

// The risk columns (issue #16) come last, so that scripts reading the columns before keep working.
export const CSV_HEADER = [
  'host',
  'release',
  'severity',
  'status',
  'advisory',
  'source',
  'cves',
  'package',
  'installed',
  'fixed',
  'first_seen',
  'closed_at',
  'reason',
  'title',
  'risk',
  'risk_reason',
  'kev_date_added',
  'kev_due_date',
  'kev_ransomware',
  'epss',
  'epss_percentile',
  // CVSS v3 and v4.0 side by side, each in its own column: never one in place of the other.
  'cvss_v3',
  'cvss_v4',
].join(',');

/** The risk and CVSS cells of a finding, the last of its CSV line. */
function csvTail(r: FindingRow): string[] {
  const k = r.risk?.kev ?? null;
  const e = r.risk?.epss ?? null;
  const risk =
    r.risk === undefined
      ? ['', '', '', '', '', '', '']
      : [
          r.risk.score.toFixed(1),
          r.risk.reason,
          k?.dateAdded ?? '',
          k?.dueDate ?? '',
          k === null ? '' : k.ransomware ? 'known' : 'unknown',
          e === null ? '' : String(e.score),
          e === null ? '' : String(e.percentile),
        ];
  return [r.title, ...risk, r.cvssScore === null ? '' : r.cvssScore.toFixed(1), r.cvssV4Score === null ? '' : r.cvssV4Score.toFixed(1)];
}

/** One finding as a CSV line (without its line end). */
export function csvLine(r: FindingRow): string {
  return [
    r.targetName,
    r.release ?? '',
    r.severity,
    r.status,
    r.advisoryId,
    r.advisorySource,
    r.cves.join(' '),
    r.package,
    r.installed,
    r.fixed ?? '',
    r.firstSeen,
    r.closedAt ?? '',
    r.reason ?? '',
    ...csvTail(r),
  ]
    .map(csvCell)
    .join(',');
}

/**
 * What an advisory gives every finding's line (its cells, rendered once), keyed by an object
 * its rows share (their CVE list, their risk) and checked against the row's own fields: a row
 * that shares the object but not the fields is rendered afresh.
 */
class PerAdvisory<E extends { text: string }> {
  private readonly m = new WeakMap<object, E>();
  constructor(
    private readonly same: (e: E, r: FindingRow) => boolean,
    private readonly make: (r: FindingRow) => E,
  ) {}
  text(key: object, r: FindingRow): string {
    let e = this.m.get(key);
    if (e === undefined || !this.same(e, r)) this.m.set(key, (e = this.make(r)));
    return e.text;
  }
}

/**
 * csvLine for a stream of findings: the cells of an advisory (identity, CVEs, title, scores,
 * risk) are rendered once per advisory, the row's own cells per row.
 * @example const line = csvLines(); for (const r of rows) out += line(r) + '\r\n';
 */
export function csvLines(): (r: FindingRow) => string {
  const advisory = new PerAdvisory(
    (e: { id: string; source: string; text: string }, r) => e.id === r.advisoryId && e.source === r.advisorySource,
    (r) => ({ id: r.advisoryId, source: r.advisorySource, text: [r.advisoryId, r.advisorySource, r.cves.join(' ')].map(csvCell).join(',') }),
  );
  const tail = new PerAdvisory(
    (e: { risk: unknown; title: string; v3: number | null; v4: number | null; text: string }, r) =>
      e.risk === r.risk && e.title === r.title && e.v3 === r.cvssScore && e.v4 === r.cvssV4Score,
    (r) => ({ risk: r.risk, title: r.title, v3: r.cvssScore, v4: r.cvssV4Score, text: csvTail(r).map(csvCell).join(',') }),
  );
  return (r) =>
    `${csvCell(r.targetName)},${csvCell(r.release ?? '')},${csvCell(r.severity)},${csvCell(r.status)},${advisory.text(r.cves, r)},${csvCell(r.package)},${csvCell(r.installed)},${csvCell(r.fixed ?? '')},${csvCell(r.firstSeen)},${csvCell(r.closedAt ?? '')},${csvCell(r.reason ?? '')},${tail.text(r.risk ?? r.cves, r)}`;
}

/**
 * A finding as `JSON.stringify(r, null, 2)` indented by `pad` (the JSON report's rows), for the
 * rows of a streamed report (services/report-stream.ts toRow), in their key order, without
 * stringifying the whole row each time: what a row shares with its advisory (identity; title,
 * CVEs, scores, risk) or its target (name, release) is rendered once and reused, the rest per
 * row (report-stream.test.ts compares a report with JSON.stringify's). Rows must not be changed once written.
 * @example const json = findingJsonRows('    '); out += json(row);
 */
export function findingJsonRows(pad: string): (r: FindingRow) => string {
  const p = jsonRowParts(pad);
  return (r) => p.head(r) + p.advisory(r) + p.middle(r) + p.target(r) + p.tail(r);
}

/**
 * findingJsonRows' rows written into byte chunks after `lead`: what a row shares with its
 * advisory or target goes in as bytes encoded once (more than half of a row), only the row's own
 * fields are encoded per row. True when a chunk is full (ByteChunks.add).
 * @example const json = findingJsonBytes('    '); if (json(row, chunks, ',\n')) …
 */
export function findingJsonBytes(pad: string): (r: FindingRow, c: ByteChunks, lead: string) => boolean {
  const p = jsonRowParts(pad);
  // By the text itself (the same string each time: its hash is kept), bounded.
  const encoded = new Map<string, Buffer>();
  const bytes = (s: string): Buffer => {
    let b = encoded.get(s);
    if (b === undefined) {
      if (encoded.size >= 100_000) encoded.clear();
      encoded.set(s, (b = Buffer.from(s)));
    }
    return b;
  };
  return (r, c, lead) => {
    c.add(lead + p.head(r));
    c.addBytes(bytes(p.advisory(r)));
    c.add(p.middle(r));
    c.addBytes(bytes(p.target(r)));
    return c.addBytes(bytes(p.tail(r)));
  };
}

/** A JSON row in its parts: its start, its advisory's identity, its own fields, its target, and the rest (its advisory's). */
function jsonRowParts(pad: string): Record<'head' | 'advisory' | 'middle' | 'target' | 'tail', (r: FindingRow) => string> {
  const inner = `\n${pad}  `;
  // A key and its value, after a comma; nothing for an undefined value (as JSON.stringify leaves it out).
  const kv = (k: string, v: unknown): string => {
    const t =
      v === null
        ? 'null'
        : typeof v === 'object'
          ? (JSON.stringify(v, null, 2) as string | undefined)?.replaceAll('\n', inner)
          : (JSON.stringify(v) as string | undefined);
    return t === undefined ? '' : `,${inner}"${k}": ${t}`;
  };
  // The row's own fields, every row: each key written once here, each value by jsonString.
  const key = (k: string): string => `,${inner}"${k}": `;
  const kPackage = key('package');
  const kInstalled = key('installed');
  const kFixed = key('fixed');
  const kSeverity = key('severity');
  const kStatus = key('status');
  const kReason = key('reason');
  const kFirstSeen = key('firstSeen');
  const kLastSeen = key('lastSeen');
  const kClosedAt = key('closedAt');
  const kAcceptedBy = key('acceptedBy');
  const kAcceptedAt = key('acceptedAt');
  const kAcceptedUntil = key('acceptedUntil');
  const kArch = key('arch');
  // A string or null field as kv writes it (an undefined one left out, as JSON.stringify does).
  const field = (k: string, v: string | null | undefined): string => (v === null ? `${k}null` : v === undefined ? '' : k + jsonString(v));
  const advisory = new PerAdvisory(
    (e: { id: string; source: string; text: string }, r) => e.id === r.advisoryId && e.source === r.advisorySource,
    (r) => ({ id: r.advisoryId, source: r.advisorySource, text: kv('advisorySource', r.advisorySource) + kv('advisoryId', r.advisoryId) }),
  );
  const tail = new PerAdvisory(
    (e: { r: FindingRow; text: string }, r) =>
      e.r.risk === r.risk &&
      e.r.cves === r.cves &&
      e.r.title === r.title &&
      e.r.cvssScore === r.cvssScore &&
      e.r.cvssV4Score === r.cvssV4Score &&
      e.r.publishedAt === r.publishedAt,
    (r) => ({
      r,
      text: `${kv('title', r.title)}${kv('cves', r.cves)}${kv('cvssScore', r.cvssScore)}${kv('cvssV4Score', r.cvssV4Score)}${kv('publishedAt', r.publishedAt)}${kv('risk', r.risk)}\n${pad}}`,
    }),
  );
  const targets = new Map<string, { release: string | null; text: string }>();
  const target = (r: FindingRow): string => {
    let t = targets.get(r.targetName);
    if (t === undefined || t.release !== r.release)
      targets.set(r.targetName, (t = { release: r.release, text: kv('targetName', r.targetName) + kv('release', r.release) }));
    return t.text;
  };
  return {
    head: (r) => `${pad}{${inner}"targetId": ${jsonString(r.targetId)}`,
    advisory: (r) => advisory.text(r.cves, r),
    middle: (r) =>
      `${field(kPackage, r.package)}${field(kInstalled, r.installed)}${field(kFixed, r.fixed)}${field(kSeverity, r.severity)}${field(kStatus, r.status)}${field(kReason, r.reason)}${field(kFirstSeen, r.firstSeen)}${field(kLastSeen, r.lastSeen)}${field(kClosedAt, r.closedAt)}${field(kAcceptedBy, r.acceptedBy)}${field(kAcceptedAt, r.acceptedAt)}${field(kAcceptedUntil, r.acceptedUntil)}${field(kArch, r.arch)}`,
    target,
    tail: (r) => tail.text(r.risk ?? r.cves, r),
  };
}

/**
 * What JSON.stringify escapes in a string: a quote, a backslash, a control character, a
 * surrogate (a lone one is escaped; a pair is not, but is rare enough to leave to JSON.stringify).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(s)` for a string, without its cost for the common string that needs no escape
 * (a package name, a version, a time): those are only put between quotes.
 * @example jsonString('1.2-3') // '"1.2-3"'
 */
export function jsonString(s: string): string {
  return JSON_ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export function renderCsv(rows: readonly FindingRow[]): string {
  return [CSV_HEADER, ...rows.map(csvLine)].join('\r\n') + '\r\n';
}

export { renderCycloneDxVex, type NotAffectedRow } from './report-vex.js';

export function esc(s: string): string {
  if (!/[&<>"']/.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export const COLOURS: Record<Severity, string> = {
  critical: '#8b0000',
  high: '#d9480f',
  medium: '#e0a800',
  low: '#4c8c4a',
  none: '#868e96',
  unknown: '#adb5bd',
};

export function bars(title: string, data: readonly [string, number, string][]): string {
  const max = Math.max(1, ...data.map(([, n]) => n));
  const h = 22;
  const rows = data
    .map(([label, n, colour], i) => {
      const w = Math.round((n / max) * 360);
      return `<text x="0" y="${String(i * h + 15)}">${esc(label)}</text><rect x="130" y="${String(i * h + 3)}" width="${String(w)}" height="16" fill="${colour}"/><text x="${String(136 + w)}" y="${String(i * h + 15)}">${String(n)}</text>`;
    })
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg role="img" aria-label="${esc(title)}" width="560" height="${String(Math.max(1, data.length) * h + 4)}" font-size="12" font-family="sans-serif">${rows}</svg></figure>`;
}

const HTML_TABLE_OPEN =
  '<table><thead><tr><th>Severity</th><th>Host</th><th>Advisory</th><th>Title</th><th>CVEs</th><th>Package</th><th>Installed</th><th>Fixed in</th><th>Status</th><th>First seen</th><th>CVSS v3</th><th>CVSS v4.0</th><th>Risk</th><th>Why</th></tr></thead><tbody>';
const HTML_TABLE_CLOSE = '</tbody></table>';

const cell = (s: string): string => `<td>${esc(s)}</td>`;

function htmlAdvisory(r: FindingRow): string {
  return [r.advisoryId, r.title, r.cves.join(' ')].map(cell).join('');
}

function htmlTail(r: FindingRow): string {
  return [r.cvssScore?.toFixed(1) ?? '—', r.cvssV4Score?.toFixed(1) ?? '—', r.risk === undefined ? '—' : r.risk.score.toFixed(1), r.risk?.reason ?? '—']
    .map(cell)
    .join('');
}

/** A finding's status cell: a mitigated one says by what (its reason names the live patch). */
const statusText = (r: FindingRow): string => (r.status === 'mitigated' && r.reason !== null ? `mitigated: ${r.reason}` : r.status);

/** One finding as a row of the HTML report's tables. */
export function htmlRow(r: FindingRow): string {
  return `<tr class="${r.severity}">${cell(r.severity)}${cell(r.targetName)}${htmlAdvisory(r)}${[r.package, r.installed, r.fixed ?? '—', statusText(r), r.firstSeen.slice(0, 10)].map(cell).join('')}${htmlTail(r)}</tr>`;
}

/**
 * htmlRow for a stream of findings: an advisory's cells rendered once per advisory (see csvLines).
 * @example const row = htmlRows(); for (const r of rows) out += row(r);
 */
export function htmlRows(): (r: FindingRow) => string {
  const advisory = new PerAdvisory(
    (e: { id: string; title: string; text: string }, r) => e.id === r.advisoryId && e.title === r.title,
    (r) => ({ id: r.advisoryId, title: r.title, text: htmlAdvisory(r) }),
  );
  const tail = new PerAdvisory(
    (e: { risk: unknown; v3: number | null; v4: number | null; text: string }, r) => e.risk === r.risk && e.v3 === r.cvssScore && e.v4 === r.cvssV4Score,
    (r) => ({ risk: r.risk, v3: r.cvssScore, v4: r.cvssV4Score, text: htmlTail(r) }),
  );
  return (r) =>
    `<tr class="${r.severity}">${cell(r.severity)}${cell(r.targetName)}${advisory.text(r.cves, r)}${cell(r.package)}${cell(r.installed)}${cell(r.fixed ?? '—')}${cell(statusText(r))}${cell(r.firstSeen.slice(0, 10))}${tail.text(r.risk ?? r.cves, r)}</tr>`;
}

/** What the HTML report says before its table of every open finding: counts, charts, the oldest 25. */
export interface HtmlSummary {
  bySeverity: ReadonlyMap<Severity, number>;
  byRelease: ReadonlyMap<string, number>;
  active: number;
  hosts: number;
  oldest: readonly FindingRow[];
}

/** The HTML report up to its table of every open finding; then HTML_ALL_OPEN, rows, HTML_END (renderHtml). */
export function htmlStart(now: Date, s: HtmlSummary): string {
  const bySeverity = SEVERITIES.map((sev): [string, number, string] => [sev, s.bySeverity.get(sev) ?? 0, COLOURS[sev]]);
  const byRelease = [...s.byRelease.keys()].sort().map((rel): [string, number, string] => [rel, s.byRelease.get(rel) ?? 0, '#1c7ed6']);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Bulwark report ${esc(now.toISOString().slice(0, 10))}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#212529}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dee2e6;padding:4px 6px;text-align:left}tr.critical td:first-child{color:${COLOURS.critical};font-weight:bold}tr.high td:first-child{color:${COLOURS.high}}figure{display:inline-block;margin:0 2em 1em 0}figcaption{font-weight:bold;margin-bottom:4px}</style>
</head><body>
<h1>Exposure report</h1>
<p>${plural(s.active, 'open finding')} on ${plural(s.hosts, 'target')}, generated ${esc(now.toISOString())}.</p>
${bars('Open findings by severity', bySeverity)}
${bars('Open findings by release', byRelease)}
<h2>Oldest open findings</h2>
${HTML_TABLE_OPEN}${s.oldest.map(htmlRow).join('')}${HTML_TABLE_CLOSE}
<h2>All open findings</h2>
${HTML_TABLE_OPEN}`;
}

export const HTML_END = `${HTML_TABLE_CLOSE}
</body></html>
`;

/** Whether the HTML report lists a finding: open, without a fix, or mitigated by a live patch (listed with its reason). */
export function htmlListed(r: FindingRow): boolean {
  return r.status === 'open' || r.status === 'no-fix' || r.status === 'mitigated';
}

/** A self-contained HTML page (no scripts, no external resources) with charts and tables. */
export function renderHtml(rows: readonly FindingRow[], now: Date): string {
  const active = rows.filter(htmlListed);
  const count = <K>(key: (r: FindingRow) => K): Map<K, number> => {
    const m = new Map<K, number>();
    for (const r of active) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
    return m;
  };
  const oldest = [...active].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen)).slice(0, 25);
  const summary = {
    bySeverity: count((r) => r.severity),
    byRelease: count((r) => r.release ?? '?'),
    active: active.length,
    hosts: count((r) => r.targetName).size,
    oldest,
  };
  return htmlStart(now, summary) + active.map(htmlRow).join('') + HTML_END;
}

/** Findings as severe as `min` or worse, not fixed or accepted: what `--fail-on` gates on. */
export function overThreshold(rows: readonly FindingRow[], min: Severity): boolean {
  return rows.some((r) => (r.status === 'open' || r.status === 'no-fix') && severityRank(r.severity) >= severityRank(min));
}
