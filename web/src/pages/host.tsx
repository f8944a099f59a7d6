import { useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { url } from '../api.js';
import { AdvisoryLink, ConfirmButton, CveLink, Err, Field, fmtTime, relative, Severity, Table } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';
import type { Finding, Host } from '../types.js';
import { AcceptRisk } from './accept-risk.js';

interface HostDetail {
  host: Host;
  packages: { name: string; epoch: number | null; version: string; release: string | null; arch: string; sourceName: string | null }[];
  findings: Finding[];
  /** Findings an operator accepted the risk of. */
  accepted: Finding[];
  history: {
    closed: (Finding & { closedAt: string | null })[];
    runs: { run: number; policy: string; status: string; createdAt: string; steps: { kind: string; state: string }[] }[];
  };
}

export function FindingsTable({ rows }: { rows: readonly Finding[] }): ReactNode {
  return (
    <Table
      rows={rows}
      columns={[
        ['severity', (f) => <Severity s={f.severity} />],
        ['advisory', (f) => <AdvisoryLink source={f.advisorySource} id={f.advisoryId} />],
        [
          'CVEs',
          (f) =>
            f.cves.map((c) => (
              <span key={c}>
                <CveLink cve={c} />{' '}
              </span>
            )),
        ],
        ['package', (f) => f.package],
        ['installed', (f) => f.installed],
        ['fixed in', (f) => f.fixed ?? '-'],
        // A mitigated finding says which live patch covers it.
        ['status', (f) => (f.status === 'mitigated' && f.reason !== null ? <span title={f.reason}>mitigated: {f.reason}</span> : f.status)],
        ['first seen', (f) => relative(f.firstSeen)],
        ['risk', (f) => <AcceptRisk f={f} />],
      ]}
      empty="No findings."
    />
  );
}

function Tags({ host }: { host: Host }): ReactNode {
  const tag = useAction({ method: 'post', path: '/api/v1/hosts/{name}/tags', invalidates: ['/api/v1/hosts', '/api/v1/findings'] });
  const [value, setValue] = useState('');
  return (
    <div>
      <span>Tags: </span>
      {host.tags.length === 0 ? <span className="muted">none </span> : null}
      {host.tags.map((t) => (
        <span key={t} className="tag">
          {t}
          <Can role="admin">
            <button
              type="button"
              className="link"
              aria-label={`remove tag ${t}`}
              onClick={() => {
                tag.mutate({ params: { name: host.name }, body: { remove: [t] } });
              }}
            >
              ×
            </button>
          </Can>{' '}
        </span>
      ))}
      <Can role="admin">
        <form
          className="inline-form"
          aria-label="add a tag"
          onSubmit={(e) => {
            e.preventDefault();
            tag.mutate(
              { params: { name: host.name }, body: { add: [value.trim()] } },
              {
                onSuccess: () => {
                  setValue('');
                },
              },
            );
          }}
        >
          <Field label="New tag">
            {(id) => (
              <input
                id={id}
                name="tag"
                value={value}
                required
                onChange={(e) => {
                  setValue(e.target.value);
                }}
              />
            )}
          </Field>
          <button type="submit">Add tag</button>
        </form>
      </Can>
      <Err e={tag.error?.message} />
    </div>
  );
}

export function HostPage({ name }: { name: string }): ReactNode {
  const [, navigate] = useLocation();
  const { data, message } = useGet<HostDetail>(url('/api/v1/hosts/{name}', { name }));
  const remove = useAction({ method: 'delete', path: '/api/v1/hosts/{name}', invalidates: ['/api/v1/hosts', '/api/v1/overview', '/api/v1/findings'] });
  const scan = useAction<'/api/v1/hosts/{name}/scan', 'post', { findings?: number }>({
    method: 'post',
    path: '/api/v1/hosts/{name}/scan',
    invalidates: ['/api/v1/hosts', '/api/v1/findings', '/api/v1/overview'],
  });
  if (data === undefined) return <Err e={message} />;
  const h = data.host;
  return (
    <section>
      <h1 tabIndex={-1}>{h.name}</h1>
      <p className="muted">
        {h.release ?? '?'} · last inventory {fmtTime(h.inventoryAt)} ·{' '}
        {h.kind === 'image' ? `${h.platform ?? ''} image` : (h.address ?? 'imported: no address, not patched by runs')}
        {h.image === null ? null : <> · made from image {h.image}</>}
      </p>
      {h.livePatches === undefined || h.livePatches === null || h.livePatches.length === 0 ? null : (
        <p>
          Live patches of kernel {h.runningKernel ?? '?'}:{' '}
          {h.livePatches.map((p) => `${p.tool} ${p.name} (${p.state}${p.cves.length > 0 ? `; fixes ${p.cves.join(', ')}` : ''})`).join(' · ')}
        </p>
      )}
      <Tags host={h} />
      <div className="actions">
        {h.address !== null && !h.address.startsWith('agent:') ? (
          <Can role="operator">
            <button
              type="button"
              disabled={scan.isPending}
              onClick={() => {
                scan.mutate({ params: { name: h.name } });
              }}
            >
              {scan.isPending ? 'Scanning…' : 'Scan now'}
            </button>
          </Can>
        ) : null}
        <Can role="admin">
          <ConfirmButton
            label="Remove host"
            confirm={`Remove ${h.name} with its inventory and findings?`}
            onConfirm={() => {
              remove.mutate(
                { params: { name: h.name } },
                {
                  onSuccess: () => {
                    navigate('/hosts');
                  },
                },
              );
            }}
          />
        </Can>
      </div>
      <Err e={scan.error?.message ?? remove.error?.message} />
      {scan.data === undefined ? null : <p role="status">Scanned: {scan.data.findings ?? 0} open findings.</p>}
      <h2>Open findings ({data.findings.length})</h2>
      <FindingsTable rows={data.findings} />
      {data.accepted.length === 0 ? null : (
        <>
          <h2>Accepted risks ({data.accepted.length})</h2>
          <FindingsTable rows={data.accepted} />
        </>
      )}
      <h2>History</h2>
      <Table
        caption="Patch runs that touched this host"
        rows={data.history.runs}
        columns={[
          ['run', (r) => <Link href={`/runs/${String(r.run)}`}>{r.run}</Link>],
          ['policy', (r) => r.policy],
          ['started', (r) => fmtTime(r.createdAt)],
          ['run status', (r) => r.status],
          ['steps here', (r) => r.steps.map((s) => `${s.kind} ${s.state}`).join(', ')],
        ]}
        empty="No patch run has touched this host."
      />
      <Table
        caption="Findings closed"
        rows={data.history.closed}
        columns={[
          ['closed', (f) => fmtTime(f.closedAt)],
          ['advisory', (f) => <AdvisoryLink source={f.advisorySource} id={f.advisoryId} />],
          ['package', (f) => f.package],
          ['was', (f) => f.installed],
          ['fixed in', (f) => f.fixed ?? '-'],
          ['closed as', (f) => f.status],
        ]}
        empty="No finding closed yet."
      />
      <details>
        <summary>
          <h2 className="inline">Packages ({data.packages.length})</h2>
        </summary>
        <Table
          rows={data.packages}
          columns={[
            ['package', (p) => p.name],
            ['version', (p) => `${p.epoch === null || p.epoch === 0 ? '' : `${String(p.epoch)}:`}${p.version}${p.release === null ? '' : `-${p.release}`}`],
            ['arch', (p) => p.arch],
            ['source', (p) => p.sourceName ?? '-'],
          ]}
        />
      </details>
    </section>
  );
}
