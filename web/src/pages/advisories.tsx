import { useState, type ReactNode } from 'react';
import { useLocation, useSearch } from 'wouter';
import { url } from '../api.js';
import { AdvisoryLink, CveLink, Err, Field, fmtTime, Severity, Table } from '../components.js';
import { useGet } from '../query.js';

export interface AdvisoryItem {
  source: string;
  id: string;
  title: string;
  severity: string;
  cves: string[];
  publishedAt: string | null;
  fixes: { release: string; package: string; fixed: string | null; status: string; arch: string | null }[];
}
const RANK: Record<string, number> = { critical: 5, high: 4, medium: 3, low: 2, none: 1, unknown: 0 };

/** Search results sorted worst first, then newest, each source named. */
export function AdvisoryTable({ items }: { items: readonly AdvisoryItem[] }): ReactNode {
  const sorted = [...items].sort((a, b) => (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0) || (b.publishedAt ?? '').localeCompare(a.publishedAt ?? ''));
  return (
    <Table
      rows={sorted}
      rowKey={(a) => `${a.source}:${a.id}`}
      columns={[
        [' ', (a) => <Severity s={a.severity} />],
        ['advisory', (a) => <AdvisoryLink source={a.source} id={a.id} />],
        ['source', (a) => a.source],
        ['title', (a) => a.title],
        [
          'CVEs',
          (a) =>
            a.cves.map((c) => (
              <span key={c}>
                <CveLink cve={c} />{' '}
              </span>
            )),
        ],
        ['published', (a) => fmtTime(a.publishedAt)],
      ]}
      empty="No advisory matches."
    />
  );
}

export function AdvisoriesPage(): ReactNode {
  const search = new URLSearchParams(useSearch());
  const [, navigate] = useLocation();
  const q = search.get('q') ?? '';
  const [value, setValue] = useState(q);
  const path =
    q === '' ? null : /^CVE-/i.test(q) ? url('/api/v1/advisories', {}, { cve: q, limit: 100 }) : url('/api/v1/advisories', {}, { package: q, limit: 100 });
  const { data, message } = useGet<{ items: AdvisoryItem[] }>(path);
  return (
    <section>
      <h1 tabIndex={-1}>Advisories</h1>
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/advisories?q=${encodeURIComponent(value.trim())}`);
        }}
      >
        <Field label="CVE or package">
          {(id) => (
            <input
              id={id}
              name="q"
              placeholder="CVE-2024-… or a package name"
              value={value}
              onChange={(e) => {
                setValue(e.target.value);
              }}
            />
          )}
        </Field>
        <button type="submit">Search</button>
      </form>
      <Err e={message} />
      {data === undefined ? null : <AdvisoryTable items={data.items} />}
    </section>
  );
}
