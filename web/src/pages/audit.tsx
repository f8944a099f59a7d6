import type { ReactNode } from 'react';
import { url } from '../api.js';
import { Err, fmtTime, Table } from '../components.js';
import { useGet } from '../query.js';

/** A detail object as `key: value` pairs a person reads, not JSON. */
function Detail({ d }: { d: unknown }): ReactNode {
  if (d === null || typeof d !== 'object') return typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean' ? String(d) : '';
  const entries = Object.entries(d as Record<string, unknown>);
  if (entries.length === 0) return null;
  return (
    <dl className="detail">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            {Array.isArray(v)
              ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')
              : typeof v === 'object' && v !== null
                ? JSON.stringify(v)
                : String(v)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function AuditPage(): ReactNode {
  const { data, message } = useGet<{ items: { at: string; actor: string; action: string; subject: string; detail: unknown }[] }>(
    url('/api/v1/audit', {}, { limit: 200 }),
  );
  return (
    <section>
      <h1 tabIndex={-1}>Audit log</h1>
      <Err e={message} />
      {data === undefined ? null : (
        <Table
          rows={data.items}
          columns={[
            ['when', (a) => fmtTime(a.at)],
            ['who', (a) => a.actor],
            ['did', (a) => a.action],
            ['to', (a) => a.subject],
            ['detail', (a) => <Detail d={a.detail} />],
          ]}
        />
      )}
    </section>
  );
}
