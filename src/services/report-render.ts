import { SEVERITIES, severityRank, type Severity } from '../core/advisory.js';
import { debPurl, rpmPurl } from '../core/package/purl.js';
import { parseReleaseId } from '../core/release.js';
import { releaseFamily } from '../distros/registry.js';
import { knownArch } from '../core/target.js';
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

export function renderCsv(rows: readonly FindingRow[]): string {
  // The risk columns (issue #16) come last, so that scripts reading the columns before keep working.
  const header = [
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
  ];
  const lines = [header.join(',')];
  for (const r of rows) {
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
    lines.push(
      [
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
        r.title,
        ...risk,
        r.cvssScore === null ? '' : r.cvssScore.toFixed(1),
        r.cvssV4Score === null ? '' : r.cvssV4Score.toFixed(1),
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * The purl of a finding's package (purl-spec types/rpm-definition.json, deb-definition.json):
 * rpm `V-R` with `epoch` (when it has one), `arch` and `distro`; deb the full version with
 * `arch` and `distro`; `upstream` names the source package, as syft and trivy write it, when
 * Bulwark knows it (given, resolved or learned; never an assumed one).
 */
function purlOf(r: Pick<FindingRow, 'release' | 'package' | 'installed' | 'arch'>, source: string | undefined): string | null {
  if (r.release === null || r.package.startsWith('(')) return null;
  const family = releaseFamily(r.release);
  const rel = parseReleaseId(r.release);
  if (family === null || rel === null) return null;
  // No arch= when the inventory gave none (an SBOM purl without it): the purl would claim one.
  const arch = knownArch(r.arch);
  if (family === 'deb')
    return debPurl(
      { name: r.package, version: r.installed, arch, ...(source !== undefined && source !== r.package ? { upstream: source } : {}) },
      rel.distro,
      `${rel.distro}-${rel.version}`,
    );
  const m = /^(?:(\d+):)?([^-]+)(?:-(.+))?$/.exec(r.installed);
  if (m?.[2] === undefined) return null;
  return rpmPurl(
    {
      name: r.package,
      epoch: m[1] === undefined ? null : Number(m[1]),
      version: m[2],
      release: m[3] ?? null,
      arch,
      ...(source !== undefined ? { upstream: source } : {}),
    },
    rel.distro,
    `${rel.distro}-${rel.version}`,
  );
}

/** A vendor's statement that a target's installed package is not affected (services/report.ts). */
export interface NotAffectedRow {
  targetId: string;
  targetName: string;
  release: string;
  package: string;
  arch: string;
  installed: string;
  advisorySource: string;
  advisoryId: string;
  cves: string[];
  title: string;
  severity: Severity;
}

const CDX_SEVERITY: Record<Severity, string> = { critical: 'critical', high: 'high', medium: 'medium', low: 'low', none: 'none', unknown: 'unknown' };

/**
 * CycloneDX 1.6 VEX (https://cyclonedx.org/docs/1.6/json/#vulnerabilities_items_analysis): one
 * component per affected (host, package build), one vulnerability per advisory with its CVEs,
 * affected components and an analysis that states only what is known (issue #13). A version
 * match says the installed build is in the advisory's affected range, not that it can be
 * exploited where it runs: open and no-fix are `in_triage` (response `update` when a fix
 * exists); an operator's acceptance is `in_triage` with `will_not_fix`, the acceptance as detail;
 * all fixed is `resolved`; all closed because the publisher withdrew the advisory is
 * `false_positive` (nothing was updated); `not_affected` only where the vendor says so (`notAffected`: a CSAF VEX
 * `known_not_affected`, an OVAL definition marked not applicable), as a vulnerability entry of
 * its own. `exploitable` is a judgement about the deployment Bulwark does not make.
 * `sources` maps `${targetId}\0${package}\0${arch}` to the package's source name.
 */
/**
 * The risk order's ratings (issue #16): EPSS as FIRST's own rating (score 0 to 1, the percentile
 * as its justification), and Bulwark's risk score with its reason. CycloneDX 1.6 ratings carry
 * `source`, `score`, `severity`, `method` and `justification`; KEV has no rating of its own, so
 * its dates and ransomware use are the vulnerability's properties.
 */
function riskRatings(r: FindingRow): { source: { name: string; url?: string }; score: number; severity: string; method: string; justification: string }[] {
  if (r.risk === undefined) return [];
  const out: ReturnType<typeof riskRatings> = [];
  if (r.risk.epss !== null)
    out.push({
      source: { name: 'FIRST EPSS', url: 'https://www.first.org/epss/' },
      score: r.risk.epss.score,
      severity: 'unknown',
      method: 'other',
      justification: `EPSS ${String(r.risk.epss.score)} on ${r.risk.epss.date}, percentile ${String(r.risk.epss.percentile)} (${r.risk.epss.cve})`,
    });
  out.push({ source: { name: 'bulwark risk order' }, score: r.risk.score, severity: CDX_SEVERITY[r.severity], method: 'other', justification: r.risk.reason });
  return out;
}

/** The advisory's CVSS base scores as CycloneDX ratings, v3 and v4.0 apart (methods `CVSSv3`, `CVSSv4`). */
function cvssRatings(r: FindingRow): { source: { name: string }; score: number; method: string }[] {
  return [
    ...(r.cvssScore === null ? [] : [{ source: { name: r.advisorySource }, score: r.cvssScore, method: 'CVSSv3' }]),
    ...(r.cvssV4Score === null ? [] : [{ source: { name: r.advisorySource }, score: r.cvssV4Score, method: 'CVSSv4' }]),
  ];
}

function riskProperties(r: FindingRow): { properties?: { name: string; value: string }[] } {
  const k = r.risk?.kev ?? null;
  if (k === null) return {};
  return {
    properties: [
      { name: 'bulwark:kev:cve', value: k.cve },
      { name: 'bulwark:kev:dateAdded', value: k.dateAdded },
      { name: 'bulwark:kev:dueDate', value: k.dueDate },
      { name: 'bulwark:kev:knownRansomwareCampaignUse', value: k.ransomware ? 'Known' : 'Unknown' },
    ],
  };
}

export function renderCycloneDxVex(
  rows: readonly FindingRow[],
  now: Date,
  serial: string,
  sources: ReadonlyMap<string, string> = new Map(),
  notAffected: readonly NotAffectedRow[] = [],
): string {
  const components = new Map<
    string,
    { 'bom-ref': string; type: string; name: string; version: string; purl?: string; properties: { name: string; value: string }[] }
  >();
  const vulns = new Map<string, { rows: FindingRow[] }>();
  for (const r of rows) {
    const ref = `${r.targetName}/${r.package}@${r.installed}`;
    if (!components.has(ref)) {
      const purl = purlOf(r, sources.get(`${r.targetId}\u0000${r.package}\u0000${r.arch}`));
      components.set(ref, {
        'bom-ref': ref,
        type: r.package.startsWith('(') ? 'operating-system' : 'library',
        name: r.package.startsWith('(') ? (r.release ?? r.installed) : r.package,
        version: r.installed,
        ...(purl === null ? {} : { purl }),
        properties: [{ name: 'bulwark:target', value: r.targetName }],
      });
    }
    const key = `${r.advisorySource}\u0000${r.advisoryId}`;
    const v = vulns.get(key) ?? { rows: [] };
    v.rows.push(r);
    vulns.set(key, v);
  }
  const vulnerabilities = [...vulns.values()].map(({ rows: rs }) => {
    const first = rs[0] as FindingRow;
    const open = rs.some((r) => r.status === 'open' || r.status === 'no-fix');
    const accepted = rs.every((r) => r.status === 'accepted');
    const reasons = rs.map((r) => r.reason).filter((x): x is string => x !== null);
    // Closed because the feed withdrew the advisory, not by an update: not "resolved".
    const withdrawn = rs.every((r) => r.status === 'withdrawn');
    return {
      id: first.cves[0] ?? first.advisoryId,
      source: { name: first.advisorySource },
      references: [
        { id: first.advisoryId, source: { name: first.advisorySource } },
        ...first.cves.slice(1).map((c) => ({ id: c, source: { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${c}` } })),
      ],
      ratings: [
        { severity: CDX_SEVERITY[first.severity], method: 'other', source: { name: first.advisorySource } },
        ...cvssRatings(first),
        ...riskRatings(first),
      ],
      ...riskProperties(first),
      description: first.title,
      analysis: open
        ? {
            state: 'in_triage',
            ...(rs.some((r) => r.fixed !== null && (r.status === 'open' || r.status === 'no-fix')) ? { response: ['update'] } : {}),
            detail: [
              'the installed version is in the range the advisory names as affected; whether it is exploitable here is not analysed',
              ...reasons.slice(0, 1),
            ].join('; '),
          }
        : accepted
          ? { state: 'in_triage', response: ['will_not_fix'], detail: 'risk accepted by an operator' }
          : withdrawn
            ? { state: 'false_positive', detail: 'the advisory was withdrawn by its publisher' }
            : { state: 'resolved', detail: 'fixed by an update' },
      // A fixed finding keeps the build it was found on: that build is still affected (it said
      // `unaffected`, of expat 2.6.2-1 for CVE-2024-45491); the advisory's fixed version is not.
      // Withdrawn: the publisher no longer says the build is affected, nor that it is not.
      affects: rs.map((r) => ({
        ref: `${r.targetName}/${r.package}@${r.installed}`,
        versions: [
          { version: r.installed, status: r.status === 'withdrawn' ? 'unknown' : 'affected' },
          ...(r.status === 'fixed' && r.fixed !== null ? [{ version: r.fixed, status: 'unaffected' }] : []),
        ],
      })),
    };
  });
  const vendorSays = new Map<string, NotAffectedRow[]>();
  for (const n of notAffected) {
    const ref = `${n.targetName}/${n.package}@${n.installed}`;
    if (!components.has(ref)) {
      const purl = purlOf(n, sources.get(`${n.targetId}\u0000${n.package}\u0000${n.arch}`));
      components.set(ref, {
        'bom-ref': ref,
        type: 'library',
        name: n.package,
        version: n.installed,
        ...(purl === null ? {} : { purl }),
        properties: [{ name: 'bulwark:target', value: n.targetName }],
      });
    }
    const key = `${n.advisorySource}\u0000${n.advisoryId}`;
    vendorSays.set(key, [...(vendorSays.get(key) ?? []), n]);
  }
  for (const ns of vendorSays.values()) {
    const first = ns[0] as NotAffectedRow;
    vulnerabilities.push({
      id: first.cves[0] ?? first.advisoryId,
      source: { name: first.advisorySource },
      references: [
        { id: first.advisoryId, source: { name: first.advisorySource } },
        ...first.cves.slice(1).map((c) => ({ id: c, source: { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${c}` } })),
      ],
      ratings: [{ severity: CDX_SEVERITY[first.severity], method: 'other', source: { name: first.advisorySource } }],
      description: first.title,
      analysis: { state: 'not_affected', detail: `the vendor states these packages are not affected (${first.advisorySource} ${first.advisoryId})` },
      affects: ns.map((n) => ({ ref: `${n.targetName}/${n.package}@${n.installed}`, versions: [{ version: n.installed, status: 'unaffected' }] })),
    });
  }
  return (
    JSON.stringify(
      {
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        serialNumber: `urn:uuid:${serial}`,
        version: 1,
        metadata: { timestamp: now.toISOString(), tools: { components: [{ type: 'application', name: 'bulwark' }] } },
        components: [...components.values()],
        vulnerabilities,
      },
      null,
      2,
    ) + '\n'
  );
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLOURS: Record<Severity, string> = { critical: '#8b0000', high: '#d9480f', medium: '#e0a800', low: '#4c8c4a', none: '#868e96', unknown: '#adb5bd' };

function bars(title: string, data: readonly [string, number, string][]): string {
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

/** A self-contained HTML page (no scripts, no external resources) with charts and tables. */
export function renderHtml(rows: readonly FindingRow[], now: Date): string {
  const active = rows.filter((r) => r.status === 'open' || r.status === 'no-fix');
  const bySeverity = SEVERITIES.map((s): [string, number, string] => [s, active.filter((r) => r.severity === s).length, COLOURS[s]]);
  const releases = [...new Set(active.map((r) => r.release ?? '?'))].sort();
  const byRelease = releases.map((rel): [string, number, string] => [rel, active.filter((r) => (r.release ?? '?') === rel).length, '#1c7ed6']);
  const hosts = new Set(active.map((r) => r.targetName)).size;
  const oldest = [...active].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen)).slice(0, 25);
  const cell = (s: string): string => `<td>${esc(s)}</td>`;
  const table = (rs: readonly FindingRow[]): string =>
    `<table><thead><tr><th>Severity</th><th>Host</th><th>Advisory</th><th>Title</th><th>CVEs</th><th>Package</th><th>Installed</th><th>Fixed in</th><th>Status</th><th>First seen</th><th>CVSS v3</th><th>CVSS v4.0</th><th>Risk</th><th>Why</th></tr></thead><tbody>${rs
      .map(
        (r) =>
          `<tr class="${r.severity}">${[r.severity, r.targetName, r.advisoryId, r.title, r.cves.join(' '), r.package, r.installed, r.fixed ?? '—', r.status, r.firstSeen.slice(0, 10), r.cvssScore?.toFixed(1) ?? '—', r.cvssV4Score?.toFixed(1) ?? '—', r.risk === undefined ? '—' : r.risk.score.toFixed(1), r.risk?.reason ?? '—'].map(cell).join('')}</tr>`,
      )
      .join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Bulwark report ${esc(now.toISOString().slice(0, 10))}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#212529}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dee2e6;padding:4px 6px;text-align:left}tr.critical td:first-child{color:${COLOURS.critical};font-weight:bold}tr.high td:first-child{color:${COLOURS.high}}figure{display:inline-block;margin:0 2em 1em 0}figcaption{font-weight:bold;margin-bottom:4px}</style>
</head><body>
<h1>Exposure report</h1>
<p>${plural(active.length, 'open finding')} on ${plural(hosts, 'target')}, generated ${esc(now.toISOString())}.</p>
${bars('Open findings by severity', bySeverity)}
${bars('Open findings by release', byRelease)}
<h2>Oldest open findings</h2>
${table(oldest)}
<h2>All open findings</h2>
${table(active)}
</body></html>
`;
}

/** Findings as severe as `min` or worse, not fixed or accepted: what `--fail-on` gates on. */
export function overThreshold(rows: readonly FindingRow[], min: Severity): boolean {
  return rows.some((r) => (r.status === 'open' || r.status === 'no-fix') && severityRank(r.severity) >= severityRank(min));
}
