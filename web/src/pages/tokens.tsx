import { useState, type ReactNode } from 'react';
import { url, type Role } from '../api.js';
import { ConfirmButton, Err, Field, fmtTime, relative, Table } from '../components.js';
import { useAction, useGet } from '../query.js';

interface Token {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function TokensPage(): ReactNode {
  const { data, message } = useGet<{ items: Token[] }>(url('/api/v1/tokens'));
  const create = useAction<'/api/v1/tokens', 'post', { token: string; info: Token }>({
    method: 'post',
    path: '/api/v1/tokens',
    invalidates: ['/api/v1/tokens'],
  });
  const revoke = useAction({ method: 'delete', path: '/api/v1/tokens/{id}', invalidates: ['/api/v1/tokens'] });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [days, setDays] = useState(90);
  return (
    <section>
      <h1 tabIndex={-1}>API tokens</h1>
      <form
        className="inline-form"
        aria-label="create a token"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { body: { name, role, expiresInDays: days } },
            {
              onSuccess: () => {
                setName('');
              },
            },
          );
        }}
      >
        <Field label="Name">
          {(id) => (
            <input
              id={id}
              name="token-name"
              value={name}
              required
              onChange={(e) => {
                setName(e.target.value);
              }}
            />
          )}
        </Field>
        <Field label="Role">
          {(id) => (
            <select
              id={id}
              name="token-role"
              value={role}
              onChange={(e) => {
                setRole(e.target.value as Role);
              }}
            >
              <option>viewer</option>
              <option>operator</option>
              <option>admin</option>
            </select>
          )}
        </Field>
        <Field label="Expires in (days)">
          {(id) => (
            <input
              id={id}
              name="token-days"
              type="number"
              min={1}
              max={3650}
              value={days}
              onChange={(e) => {
                setDays(Number(e.target.value));
              }}
            />
          )}
        </Field>
        <button type="submit">Create token</button>
      </form>
      <Err e={create.error?.message ?? revoke.error?.message ?? message} />
      {create.data === undefined ? null : (
        <div className="secret" role="status">
          Token {create.data.info.name} ({create.data.info.role}): copy it now, it is not shown again:
          <pre className="token" tabIndex={0}>
            {create.data.token}
          </pre>
        </div>
      )}
      <Table
        rows={data?.items ?? []}
        rowKey={(t) => t.id}
        columns={[
          ['name', (t) => t.name],
          ['id', (t) => <code>{t.id}</code>],
          ['role', (t) => t.role],
          ['created', (t) => `${fmtTime(t.createdAt)} by ${t.createdBy}`],
          ['expires', (t) => (t.expiresAt === null ? 'never' : fmtTime(t.expiresAt))],
          ['last used', (t) => relative(t.lastUsedAt)],
          [
            'state',
            (t) =>
              t.revokedAt !== null ? (
                `revoked ${fmtTime(t.revokedAt)}`
              ) : (
                <ConfirmButton
                  label="Revoke"
                  confirm={`Revoke token ${t.name}?`}
                  onConfirm={() => {
                    revoke.mutate({ params: { id: t.id } });
                  }}
                />
              ),
          ],
        ]}
        empty="No token."
      />
    </section>
  );
}
