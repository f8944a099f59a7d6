import type { ReactNode } from 'react';
import { url } from '../api.js';
import { Err, fmtTime } from '../components.js';
import { useGet } from '../query.js';
import type { FindingGroup, Page } from '../types.js';
import { AdvisoryTable, type AdvisoryItem } from './advisories.js';

/** A CVE across every feed source: the advisories that name it, its exploitation signals, the hosts exposed. */
export function CvePage({ cve }: { cve: string }): ReactNode {
  const advisories = useGet<{ items: AdvisoryItem[] }>(url('/api/v1/advisories', {}, { cve, limit: 100 }));
  const signals = useGet<{ kev: { dateAdded: string; dueDate: string; ransomware: boolean } | null; epss: { score: number; percentile: number } | null }>(
    url('/api/v1/signals/{cve}', { cve }),
  );
  const exposed = useGet<Page<FindingGroup>>(url('/api/v1/findings/groups', {}, { by: 'source', cve, limit: 100 }));
  return (
    <section>
      <h1 tabIndex={-1}>{cve.toUpperCase()}</h1>
      <h2>Exploitation signals</h2>
      {signals.data === undefined ? (
        <p className="muted">No KEV entry or EPSS score known (sync the kev and epss feeds).</p>
      ) : (
        <p>
          {signals.data.kev === null
            ? 'Not in CISA KEV.'
            : `In CISA KEV since ${fmtTime(signals.data.kev.dateAdded)}, due ${signals.data.kev.dueDate}${signals.data.kev.ransomware ? ', used by ransomware' : ''}.`}{' '}
          {signals.data.epss === null ? '' : `EPSS ${(signals.data.epss.score * 100).toFixed(1)} %.`}
        </p>
      )}
      <h2>Advisories across sources</h2>
      <Err e={advisories.message} />
      {advisories.data === undefined ? null : <AdvisoryTable items={advisories.data.items} />}
      <h2>Exposed hosts</h2>
      {exposed.data === undefined || exposed.data.items.length === 0 ? (
        <p className="muted">No host has an open finding of it.</p>
      ) : (
        <ul>
          {exposed.data.items.map((g) => (
            <li key={g.key}>
              {g.key}: {g.hosts} {g.hosts === 1 ? 'host' : 'hosts'} ({g.binaries.map((b) => b.name).join(', ')})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
