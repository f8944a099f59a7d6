import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { url } from '../api.js';
import { Err, fmtTime, Table } from '../components.js';
import { useGet } from '../query.js';

export function PoliciesPage(): ReactNode {
  const { data, message } = useGet<{ items: { name: string; version: number; appliedAt: string }[] }>(url('/api/v1/policies'));
  return (
    <section>
      <h1 tabIndex={-1}>Policies</h1>
      <Err e={message} />
      {data === undefined ? null : (
        <Table
          rows={data.items}
          rowKey={(p) => p.name}
          columns={[
            ['policy', (p) => <Link href={`/policies/${encodeURIComponent(p.name)}`}>{p.name}</Link>],
            ['version', (p) => p.version],
            ['applied', (p) => fmtTime(p.appliedAt)],
          ]}
          empty="No policy applied yet (bulwark policy apply -f FILE)."
        />
      )}
    </section>
  );
}
