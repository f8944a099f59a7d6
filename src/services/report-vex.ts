import type { Severity } from '../core/advisory.js';
import { debPurl, rpmPurl } from '../core/package/purl.js';
import { parseReleaseId } from '../core/release.js';
import { knownArch } from '../core/target.js';
import { releaseFamily } from '../distros/registry.js';
import type { FindingRow } from '../storage/index.js';

/**
 * The purl of a finding's package (purl-spec types/rpm-definition.json, deb-definition.json):
 * rpm `V-R` with `epoch` (when it has one), `arch` and `distro`; deb the full version with
 * `arch` and `distro`; `upstream` names the source package, as syft and trivy write it, when
 * Bulwark knows it (given, resolved or learned; never an assumed one).
 */
export function purlOf(r: Pick<FindingRow, 'release' | 'package' | 'installed' | 'arch'>, source: string | undefined): string | null {
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

export const CDX_SEVERITY: Record<Severity, string> = { critical: 'critical', high: 'high', medium: 'medium', low: 'low', none: 'none', unknown: 'unknown' };

/**
 * The risk order's ratings (issue #16): EPSS as FIRST's own rating (score 0 to 1, the percentile
 * as its justification), and Bulwark's risk score with its reason. CycloneDX 1.6 ratings carry
 * `source`, `score`, `severity`, `method` and `justification`; KEV has no rating of its own, so
 * its dates and ransomware use are the vulnerability's properties.
 */
export function riskRatings(
  r: FindingRow,
): { source: { name: string; url?: string }; score: number; severity: string; method: string; justification: string }[] {
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
export function cvssRatings(r: FindingRow): { source: { name: string }; score: number; method: string }[] {
  return [
    ...(r.cvssScore === null ? [] : [{ source: { name: r.advisorySource }, score: r.cvssScore, method: 'CVSSv3' }]),
    ...(r.cvssV4Score === null ? [] : [{ source: { name: r.advisorySource }, score: r.cvssV4Score, method: 'CVSSv4' }]),
  ];
}

export function riskProperties(r: FindingRow): { properties?: { name: string; value: string }[] } {
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

/** A CycloneDX component: one (host, package build). */
export interface VexComponent {
  'bom-ref': string;
  type: string;
  name: string;
  version: string;
  purl?: string;
  properties: { name: string; value: string }[];
}

/** The component a finding is about (its bom-ref is `ref`); `purl`: purlOf(r, source), when the caller has it. */
export function vexComponent(r: FindingRow, source: string | undefined, purl = purlOf(r, source)): VexComponent {
  return {
    'bom-ref': vexRef(r),
    type: r.package.startsWith('(') ? 'operating-system' : 'library',
    name: r.package.startsWith('(') ? (r.release ?? r.installed) : r.package,
    version: r.installed,
    ...(purl === null ? {} : { purl }),
    properties: [{ name: 'bulwark:target', value: r.targetName }],
  };
}

/** The component a vendor's not-affected statement is about. */
export function vendorComponent(n: NotAffectedRow, source: string | undefined): VexComponent {
  const purl = purlOf(n, source);
  return {
    'bom-ref': vexRef(n),
    type: 'library',
    name: n.package,
    version: n.installed,
    ...(purl === null ? {} : { purl }),
    properties: [{ name: 'bulwark:target', value: n.targetName }],
  };
}

export function vexRef(r: { targetName: string; package: string; installed: string }): string {
  return `${r.targetName}/${r.package}@${r.installed}`;
}

/** What the analysis of one advisory's vulnerability entry needs from all its findings, gathered one by one. */
export interface VexTally {
  open: boolean;
  accepted: boolean;
  withdrawn: boolean;
  /** The first reason given, in row order. */
  reason: string | null;
  update: boolean;
}

export function vexTally(t: VexTally | undefined, r: FindingRow): VexTally {
  // A mitigated finding's package is still the affected build (a live patch fixes the running kernel, not the package).
  const active = r.status === 'open' || r.status === 'no-fix' || r.status === 'mitigated';
  const update = r.fixed !== null && active;
  if (t === undefined) return { open: active, accepted: r.status === 'accepted', withdrawn: r.status === 'withdrawn', reason: r.reason, update };
  return {
    open: t.open || active,
    accepted: t.accepted && r.status === 'accepted',
    withdrawn: t.withdrawn && r.status === 'withdrawn',
    reason: t.reason ?? r.reason,
    update: t.update || update,
  };
}

/** One advisory's vulnerability entry, but its `affects` (always its last key). */
export function vexVulnerability(first: FindingRow, t: VexTally) {
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
    // Closed because the feed withdrew the advisory, not by an update: not "resolved".
    analysis: t.open
      ? {
          state: 'in_triage',
          ...(t.update ? { response: ['update'] } : {}),
          detail: [
            'the installed version is in the range the advisory names as affected; whether it is exploitable here is not analysed',
            ...(t.reason === null ? [] : [t.reason]),
          ].join('; '),
        }
      : t.accepted
        ? { state: 'in_triage', response: ['will_not_fix'], detail: 'risk accepted by an operator' }
        : t.withdrawn
          ? { state: 'false_positive', detail: 'the advisory was withdrawn by its publisher' }
          : { state: 'resolved', detail: 'fixed by an update' },
  };
}

/**
 * A finding's entry in its vulnerability's `affects`. A fixed finding keeps the build it was found
 * on: that build is still affected (it said `unaffected`, of expat 2.6.2-1 for CVE-2024-45491); the
 * advisory's fixed version is not. Withdrawn: the publisher no longer says the build is affected, nor that it is not.
 */
export function vexAffect(r: FindingRow) {
  return {
    ref: vexRef(r),
    versions: [
      { version: r.installed, status: r.status === 'withdrawn' ? 'unknown' : 'affected' },
      ...(r.status === 'fixed' && r.fixed !== null ? [{ version: r.fixed, status: 'unaffected' }] : []),
    ],
  };
}

/**
 * `JSON.stringify(x, null, 2)` with every line after the first indented by `pad`, for the
 * entries a streamed VEX writes per finding (an `affects` entry, a component): a template, not a
 * walk of an object per row. x: vexAffect's or vendorAffect's entry, or a VexComponent.
 */
export function affectJson(a: { ref: string; versions: { version: string; status: string }[] }, pad: string): string {
  let s = `${pad}{\n${pad}  "ref": ${JSON.stringify(a.ref)},\n${pad}  "versions": [`;
  a.versions.forEach((v, i) => {
    s += `${i === 0 ? '' : ','}\n${pad}    {\n${pad}      "version": ${JSON.stringify(v.version)},\n${pad}      "status": ${JSON.stringify(v.status)}\n${pad}    }`;
  });
  return `${s}${a.versions.length === 0 ? ']' : `\n${pad}  ]`}\n${pad}}`;
}

/** A VexComponent as affectJson renders an entry. */
export function componentJson(c: VexComponent, pad: string): string {
  let s = `${pad}{\n${pad}  "bom-ref": ${JSON.stringify(c['bom-ref'])},\n${pad}  "type": ${JSON.stringify(c.type)},\n${pad}  "name": ${JSON.stringify(c.name)},\n${pad}  "version": ${JSON.stringify(c.version)},`;
  if (c.purl !== undefined) s += `\n${pad}  "purl": ${JSON.stringify(c.purl)},`;
  s += `\n${pad}  "properties": [`;
  c.properties.forEach((p, i) => {
    s += `${i === 0 ? '' : ','}\n${pad}    {\n${pad}      "name": ${JSON.stringify(p.name)},\n${pad}      "value": ${JSON.stringify(p.value)}\n${pad}    }`;
  });
  return `${s}${c.properties.length === 0 ? ']' : `\n${pad}  ]`}\n${pad}}`;
}

/** A vendor's not-affected statement's vulnerability entry, but its `affects`. */
export function vendorVulnerability(first: NotAffectedRow) {
  return {
    id: first.cves[0] ?? first.advisoryId,
    source: { name: first.advisorySource },
    references: [
      { id: first.advisoryId, source: { name: first.advisorySource } },
      ...first.cves.slice(1).map((c) => ({ id: c, source: { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${c}` } })),
    ],
    ratings: [{ severity: CDX_SEVERITY[first.severity], method: 'other', source: { name: first.advisorySource } }],
    description: first.title,
    analysis: { state: 'not_affected', detail: `the vendor states these packages are not affected (${first.advisorySource} ${first.advisoryId})` },
  };
}

export function vendorAffect(n: NotAffectedRow) {
  return { ref: vexRef(n), versions: [{ version: n.installed, status: 'unaffected' }] };
}

/** The document's first keys, before `components` and `vulnerabilities`. */
export function vexHead(now: Date, serial: string) {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${serial}`,
    version: 1,
    metadata: { timestamp: now.toISOString(), tools: { components: [{ type: 'application', name: 'bulwark' }] } },
  };
}

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
export function renderCycloneDxVex(
  rows: readonly FindingRow[],
  now: Date,
  serial: string,
  sources: ReadonlyMap<string, string> = new Map(),
  notAffected: readonly NotAffectedRow[] = [],
): string {
  const components = new Map<string, VexComponent>();
  const vulns = new Map<string, { rows: FindingRow[] }>();
  for (const r of rows) {
    const ref = vexRef(r);
    if (!components.has(ref)) components.set(ref, vexComponent(r, sources.get(`${r.targetId}\u0000${r.package}\u0000${r.arch}`)));
    const key = `${r.advisorySource}\u0000${r.advisoryId}`;
    const v = vulns.get(key) ?? { rows: [] };
    v.rows.push(r);
    vulns.set(key, v);
  }
  const vulnerabilities: object[] = [...vulns.values()].map(({ rows: rs }) => ({
    ...vexVulnerability(rs[0] as FindingRow, rs.reduce<VexTally | undefined>(vexTally, undefined) as VexTally),
    affects: rs.map(vexAffect),
  }));
  const vendorSays = new Map<string, NotAffectedRow[]>();
  for (const n of notAffected) {
    const ref = vexRef(n);
    if (!components.has(ref)) components.set(ref, vendorComponent(n, sources.get(`${n.targetId}\u0000${n.package}\u0000${n.arch}`)));
    const key = `${n.advisorySource}\u0000${n.advisoryId}`;
    vendorSays.set(key, [...(vendorSays.get(key) ?? []), n]);
  }
  for (const ns of vendorSays.values()) vulnerabilities.push({ ...vendorVulnerability(ns[0] as NotAffectedRow), affects: ns.map(vendorAffect) });
  return JSON.stringify({ ...vexHead(now, serial), components: [...components.values()], vulnerabilities }, null, 2) + '\n';
}
