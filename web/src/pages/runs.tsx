import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { url } from '../api.js';
import { Err, fmtTime, Table } from '../components.js';
import { useGet } from '../query.js';
import type { Run } from '../types.js';

export function RunsPage(): ReactNode {
  const { data, message } = useGet<{ items: Run[] }>(url('/api/v1/runs', {}, { limit: 100 }), { refetchMs: 3000 });
  return (
    <section>
      <h1 tabIndex={-1}>Patch runs</h1>
      <p className="muted">A run starts from a policy's plan: open the policy and choose “Start a run…”.</p>
      <Err e={message} />
      {data === undefined ? null : (
        <Table
          rows={data.items}
          rowKey={(r) => String(r.pk)}
          columns={[
            ['run', (r) => <Link href={`/runs/${String(r.pk)}`}>{r.pk}</Link>],
            ['policy', (r) => <Link href={`/policies/${encodeURIComponent(r.policy)}`}>{r.policy}</Link>],
            ['status', (r) => <span className={`status-${r.status}`}>{r.status}</span>],
            ['started', (r) => fmtTime(r.createdAt)],
            ['updated', (r) => fmtTime(r.updatedAt)],
            ['note', (r) => r.note ?? ''],
          ]}
          empty="No run yet."
        />
      )}
    </section>
  );
}
