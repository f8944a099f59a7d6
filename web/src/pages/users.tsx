import { useState, type ReactNode } from 'react';
import { url, type Role } from '../api.js';
import { ConfirmButton, Err, Field, fmtTime, Table } from '../components.js';
import { useAction, useGet } from '../query.js';

interface User {
  name: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

export function UsersPage(): ReactNode {
  const { data, message } = useGet<{ items: User[] }>(url('/api/v1/users'));
  const set = useAction({ method: 'put', path: '/api/v1/users/{name}', invalidates: ['/api/v1/users'] });
  const disable = useAction({ method: 'delete', path: '/api/v1/users/{name}', invalidates: ['/api/v1/users'] });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  return (
    <section>
      <h1 tabIndex={-1}>Users</h1>
      <form
        className="inline-form"
        aria-label="add or change a user"
        onSubmit={(e) => {
          e.preventDefault();
          set.mutate(
            { params: { name }, body: { role, password } },
            {
              onSuccess: () => {
                setName('');
                setPassword('');
              },
            },
          );
        }}
      >
        <Field label="User name">
          {(id) => (
            <input
              id={id}
              name="user-name"
              autoComplete="off"
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
              name="user-role"
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
        <Field label="Password (12+ characters)">
          {(id) => (
            <input
              id={id}
              name="user-password"
              type="password"
              autoComplete="new-password"
              minLength={12}
              value={password}
              required
              onChange={(e) => {
                setPassword(e.target.value);
              }}
            />
          )}
        </Field>
        <button type="submit">Save user</button>
      </form>
      <Err e={set.error?.message ?? disable.error?.message ?? message} />
      <Table
        rows={data?.items ?? []}
        rowKey={(u) => u.name}
        columns={[
          ['user', (u) => u.name],
          ['role', (u) => u.role],
          ['created', (u) => fmtTime(u.createdAt)],
          [
            'state',
            (u) =>
              u.disabledAt !== null ? (
                `disabled ${fmtTime(u.disabledAt)}`
              ) : (
                <ConfirmButton
                  label="Disable"
                  confirm={`Disable ${u.name}? Their sessions end.`}
                  onConfirm={() => {
                    disable.mutate({ params: { name: u.name } });
                  }}
                />
              ),
          ],
        ]}
        empty="No user yet."
      />
    </section>
  );
}
