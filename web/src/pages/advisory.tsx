import type { ReactNode } from 'react';
import { url } from '../api.js';
import { CveLink, Err, fmtTime, HostLink, Severity, Table } from '../components.js';
import { useGet } from '../query.js';
import type { FindingGroup, Page } from '../types.js';
import type { AdvisoryItem } from './advisories.js';
import { Decide } from './decide.js';

interface AdvisoryDetail {
  advisory: AdvisoryItem & {
    description: string;
    cvssScore: number | null;
    cvssVector: string | null;
    updatedAt: string | null;
    withdrawnAt: string | null;
    references: { type: string; id: string | null; url: string | null }[];
  };
  events: { at: string; kind: string; detail: Record<string, unknown> }[];
}

/** One advisory: fixes per release, CVEs, references, change history, the hosts it affects, and approve/hold. */
export function AdvisoryPage({ source, id }: { source: string; id: string }): ReactNode {
  const { data, message } = useGet<AdvisoryDetail>(url('/api/v1/advisories/{source}/{id}', { source, id }));
  const affected = useGet<Page<FindingGroup>>(url('/api/v1/findings/groups', {}, { by: 'advisory', text: id, limit: 50 }));
  if (data === undefined) return <Err e={message} />;
  const a = data.advisory;
  const group = affected.data?.items.find((g) => g.key === `${source}:${id}`);
  return (
    <section>
      <h1 tabIndex={-1}>
        {a.id} <Severity s={a.severity} />
      </h1>
      <p>
        <b>{a.title}</b>
      </p>
      <p className="muted">
        {a.source} · published {fmtTime(a.publishedAt)}
        {a.updatedAt === null ? null : <> · updated {fmtTime(a.updatedAt)}</>}
        {a.cvssScore === null ? null : <> · CVSS {a.cvssScore}</>}
        {a.withdrawnAt === null ? null : <strong className="error"> · withdrawn {fmtTime(a.withdrawnAt)}</strong>}
      </p>
      <p>{a.description}</p>
      <p>
        CVEs:{' '}
        {a.cves.map((c) => (
          <span key={c}>
            <CveLink cve={c} />{' '}
          </span>
        ))}
      </p>
      <Decide advisory={a.id} />
      <h2>Affected hosts</h2>
      {group === undefined ? (
        <p className="muted">No host has an open finding of it.</p>
      ) : (
        <ul>
          {group.binaries.map((b) => (
            <li key={b.name}>
              {b.name} {b.installed.join(', ')} → {b.fixed.join(', ') || 'no fix yet'}:{' '}
              {b.hosts.map((h) => (
                <span key={h}>
                  <HostLink name={h} />{' '}
                </span>
              ))}
            </li>
          ))}
        </ul>
      )}
      <h2>Fixes per release</h2>
      <Table
        rows={a.fixes}
        columns={[
          ['release', (f) => f.release],
          ['package', (f) => f.package],
          ['arch', (f) => f.arch ?? 'all'],
          ['status', (f) => f.status],
          ['fixed in', (f) => f.fixed ?? '-'],
        ]}
        empty="No fix published."
      />
      <h2>References</h2>
      <ul>
        {a.references.map((r, i) => (
          <li key={i}>
            {r.type}: {r.url === null ? (r.id ?? '') : <a href={r.url}>{r.id ?? r.url}</a>}
          </li>
        ))}
      </ul>
      <h2>Change history</h2>
      <Table
        rows={data.events}
        columns={[
          ['when', (e) => fmtTime(e.at)],
          ['what', (e) => e.kind],
          ['detail', (e) => <code>{JSON.stringify(e.detail)}</code>],
        ]}
        empty="No change recorded."
      />
    </section>
  );
}
