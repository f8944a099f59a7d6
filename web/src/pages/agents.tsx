import { useState, type ReactNode } from 'react';
import { url } from '../api.js';
import { ConfirmButton, Err, Field, fmtTime, relative, Table } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';

interface Agent {
  id: string;
  hostname: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
}

function Enroll(): ReactNode {
  const make = useAction<'/api/v1/agents/enrollment-tokens', 'post', { token: string; expiresAt: string; install: string }>({
    method: 'post',
    path: '/api/v1/agents/enrollment-tokens',
    invalidates: ['/api/v1/audit'],
  });
  const [tags, setTags] = useState('');
  const [hours, setHours] = useState(24);
  return (
    <div>
      <form
        className="inline-form"
        aria-label="create an enrollment token"
        onSubmit={(e) => {
          e.preventDefault();
          make.mutate({ body: { tags: tags.split(/[\s,]+/).filter((t) => t !== ''), expiresInHours: hours } });
        }}
      >
        <Field label="Tags for the new host">
          {(id) => (
            <input
              id={id}
              name="enroll-tags"
              placeholder="prod, web"
              value={tags}
              onChange={(e) => {
                setTags(e.target.value);
              }}
            />
          )}
        </Field>
        <Field label="Valid for (hours)">
          {(id) => (
            <input
              id={id}
              name="enroll-hours"
              type="number"
              min={1}
              max={720}
              value={hours}
              onChange={(e) => {
                setHours(Number(e.target.value));
              }}
            />
          )}
        </Field>
        <button type="submit">Create enrollment token</button>
      </form>
      <Err e={make.error?.message} />
      {make.data === undefined ? null : (
        <div className="secret" role="status">
          <p>Run this as root on the host (the token works once, until {fmtTime(make.data.expiresAt)}; it is not shown again):</p>
          <pre className="install" tabIndex={0}>
            {make.data.install}
          </pre>
        </div>
      )}
    </div>
  );
}

export function AgentsPage(): ReactNode {
  const { data, message } = useGet<{ items: Agent[] }>(url('/api/v1/agents'), { refetchMs: 30_000 });
  const revoke = useAction({ method: 'delete', path: '/api/v1/agents/{id}', invalidates: ['/api/v1/agents'] });
  return (
    <section>
      <h1 tabIndex={-1}>Agents</h1>
      <Can role="admin">
        <h2>Enroll a host</h2>
        <Enroll />
      </Can>
      <h2>Enrolled agents</h2>
      <Err e={message ?? revoke.error?.message} />
      <Table
        rows={data?.items ?? []}
        rowKey={(a) => a.id}
        columns={[
          ['host', (a) => a.hostname],
          ['enrolled', (a) => fmtTime(a.enrolledAt)],
          ['last report', (a) => relative(a.lastSeenAt)],
          ['state', (a) => (a.revokedAt === null ? 'active' : `revoked ${fmtTime(a.revokedAt)}`)],
          [
            '',
            (a) =>
              a.revokedAt !== null ? null : (
                <Can role="admin">
                  <ConfirmButton
                    label="Revoke"
                    confirm={`Revoke ${a.hostname}'s agent?`}
                    onConfirm={() => {
                      revoke.mutate({ params: { id: a.id } });
                    }}
                  />
                </Can>
              ),
          ],
        ]}
        empty="No agent enrolled yet."
      />
    </section>
  );
}
