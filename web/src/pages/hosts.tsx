import { useState, type ReactNode } from 'react';
import { url } from '../api.js';
import { Err, Field, HostLink, Pager, relative, Table } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';
import type { Host, Page } from '../types.js';

function AddHost(): ReactNode {
  const add = useAction({ method: 'post', path: '/api/v1/hosts', invalidates: ['/api/v1/hosts', '/api/v1/overview'] });
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [tags, setTags] = useState('');
  return (
    <form
      className="inline-form"
      aria-label="add a host"
      onSubmit={(e) => {
        e.preventDefault();
        const t = tags
          .split(/[\s,]+/)
          .map((x) => x.trim())
          .filter((x) => x !== '');
        add.mutate(
          { body: { name, address, ...(t.length > 0 ? { tags: t } : {}) } },
          {
            onSuccess: () => {
              setName('');
              setAddress('');
              setTags('');
            },
          },
        );
      }}
    >
      <Field label="Name">
        {(id) => (
          <input
            id={id}
            name="host-name"
            value={name}
            required
            onChange={(e) => {
              setName(e.target.value);
            }}
          />
        )}
      </Field>
      <Field label="SSH address">
        {(id) => (
          <input
            id={id}
            name="host-address"
            placeholder="user@host[:port]"
            value={address}
            required
            onChange={(e) => {
              setAddress(e.target.value);
            }}
          />
        )}
      </Field>
      <Field label="Tags">
        {(id) => (
          <input
            id={id}
            name="host-tags"
            placeholder="prod, web"
            value={tags}
            onChange={(e) => {
              setTags(e.target.value);
            }}
          />
        )}
      </Field>
      <button type="submit" disabled={add.isPending}>
        Add host
      </button>
      <Err e={add.error?.message} />
    </form>
  );
}

export function HostsPage(): ReactNode {
  const [offset, setOffset] = useState(0);
  const [tag, setTag] = useState('');
  const { data, message } = useGet<Page<Host>>(url('/api/v1/hosts', {}, { limit: 50, offset, sort: 'name', tag: tag === '' ? undefined : tag }));
  return (
    <section>
      <h1 tabIndex={-1}>Hosts</h1>
      <Can role="admin">
        <h2>Add a host</h2>
        <AddHost />
      </Can>
      <Field label="Filter by tag">
        {(id) => (
          <input
            id={id}
            value={tag}
            onChange={(e) => {
              setTag(e.target.value);
              setOffset(0);
            }}
          />
        )}
      </Field>
      <Err e={message} />
      {data === undefined ? null : (
        <>
          <Table
            rows={data.items}
            rowKey={(h) => h.name}
            columns={[
              ['host', (h) => <HostLink name={h.name} />],
              ['release', (h) => h.release ?? '?'],
              [
                'reached by',
                (h) => (h.kind === 'image' ? 'image' : h.address === null ? 'imported (not reachable)' : h.address.startsWith('agent:') ? 'agent' : 'SSH'),
              ],
              ['last inventory', (h) => relative(h.inventoryAt)],
              ['kernel', (h) => h.runningKernel ?? '-'],
              ['tags', (h) => h.tags.join(', ')],
            ]}
            empty="No host yet: add one above (admin), or enroll one with the agent."
          />
          <Pager total={data.total} limit={data.limit} offset={data.offset} go={setOffset} />
        </>
      )}
    </section>
  );
}
