import { useState, type ReactNode } from 'react';
import { url } from '../api.js';
import { Err, Field, fmtTime, relative, Table } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';

interface Feed {
  id: string;
  format: string;
  location: string;
  release: string | null;
  description: string;
  origin: string;
  state: unknown;
  freshness: {
    newestAt: string | null;
    lastSuccessAt: string | null;
    lastAttempt: { at: string; status: string; error: string | null } | null;
    staleAfterDays: number;
    ageDays: number | null;
    state: 'fresh' | 'stale' | 'never-synced';
    reason: string | null;
  };
}

function AddFeed(): ReactNode {
  const add = useAction({ method: 'post', path: '/api/v1/feeds', invalidates: ['/api/v1/feeds'] });
  const [id, setId] = useState('');
  const [location, setLocation] = useState('');
  const [format, setFormat] = useState('');
  return (
    <form
      className="inline-form"
      aria-label="add a feed"
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate(
          { body: { id, location, ...(format !== '' ? { format } : {}) } },
          {
            onSuccess: () => {
              setId('');
              setLocation('');
              setFormat('');
            },
          },
        );
      }}
    >
      <Field label="Source id">
        {(i) => (
          <input
            id={i}
            name="feed-id"
            value={id}
            required
            onChange={(e) => {
              setId(e.target.value);
            }}
          />
        )}
      </Field>
      <Field label="Location (https://)">
        {(i) => (
          <input
            id={i}
            name="feed-location"
            value={location}
            required
            onChange={(e) => {
              setLocation(e.target.value);
            }}
          />
        )}
      </Field>
      <Field label="Format">
        {(i) => (
          <input
            id={i}
            name="feed-format"
            placeholder="osv, oval, …"
            value={format}
            onChange={(e) => {
              setFormat(e.target.value);
            }}
          />
        )}
      </Field>
      <button type="submit" disabled={add.isPending}>
        Add feed
      </button>
      <Err e={add.error?.message} />
    </form>
  );
}

function Sync({ id }: { id: string }): ReactNode {
  const sync = useAction<'/api/v1/feeds/{id}/sync', 'post', { status: string; error?: string; advisories: number }>({
    method: 'post',
    path: '/api/v1/feeds/{id}/sync',
    invalidates: ['/api/v1/feeds', '/api/v1/overview', '/api/v1/findings', '/api/v1/advisories'],
  });
  return (
    <span>
      <button
        type="button"
        aria-label={`sync ${id}`}
        disabled={sync.isPending}
        onClick={() => {
          sync.mutate({ params: { id }, body: {} });
        }}
      >
        {sync.isPending ? 'Syncing…' : 'Sync'}
      </button>
      {sync.data === undefined ? null : (
        <span role="status" className={sync.data.status === 'failed' || sync.data.status === 'refused' ? 'error' : ''}>
          {' '}
          {sync.data.status}
          {sync.data.error === undefined ? '' : `: ${sync.data.error}`}
        </span>
      )}
      <Err e={sync.error?.message} />
    </span>
  );
}

export function FeedsPage(): ReactNode {
  const { data, message } = useGet<{ items: Feed[] }>(url('/api/v1/feeds'));
  const [all, setAll] = useState(false);
  const items = (data?.items ?? []).filter((f) => all || f.state !== null || f.origin !== 'catalog');
  return (
    <section>
      <h1 tabIndex={-1}>Feeds</h1>
      <Can role="admin">
        <h2>Add a feed</h2>
        <AddFeed />
      </Can>
      <label>
        <input
          type="checkbox"
          checked={all}
          onChange={(e) => {
            setAll(e.target.checked);
          }}
        />{' '}
        show every catalog source, synced or not
      </label>
      <Err e={message} />
      <Table
        rows={items}
        rowKey={(f) => f.id}
        columns={[
          ['source', (f) => <span title={f.description}>{f.id}</span>],
          ['format', (f) => f.format],
          [
            'freshness',
            (f) => (
              <span className={`fresh-${f.freshness.state}`}>
                {f.freshness.state === 'fresh' ? 'fresh' : f.freshness.state === 'stale' ? 'stale' : 'never synced'}
              </span>
            ),
          ],
          ['newest inside', (f) => (f.freshness.newestAt === null ? '-' : `${fmtTime(f.freshness.newestAt)} (${relative(f.freshness.newestAt)})`)],
          ['last good sync', (f) => relative(f.freshness.lastSuccessAt)],
          [
            'last attempt',
            (f) =>
              f.freshness.lastAttempt === null ? (
                '-'
              ) : (
                <>
                  {f.freshness.lastAttempt.status} {relative(f.freshness.lastAttempt.at)}
                  {f.freshness.lastAttempt.error === null ? null : <span className="error"> · {f.freshness.lastAttempt.error}</span>}
                </>
              ),
          ],
          ['why', (f) => f.freshness.reason ?? ''],
          [
            '',
            (f) => (
              <Can role="operator">
                <Sync id={f.id} />
              </Can>
            ),
          ],
        ]}
        empty="No feed synced or added yet: add one (admin), or tick the box to sync one from the catalog."
      />
    </section>
  );
}
