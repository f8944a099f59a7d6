import type { ReactNode } from 'react';
import { url } from '../api.js';
import { Err, fmtTime, HostLink, Table } from '../components.js';
import { useGet } from '../query.js';

const day = (iso: string | null): string => fmtTime(iso);

interface RepoItem {
  id: string;
  kind: string;
  url: string;
  latest: { id: string; createdAt: string; packages: number; signedBy: string | null } | null;
}
interface ViewItem {
  view: string;
  version: number;
  createdAt: string;
  createdBy: string;
  packages: number;
  deviations: number;
}
interface ImageItem {
  image: string;
  build: number;
  type: string;
  release: string;
  view: string;
  viewVersion: number;
  createdAt: string;
  packages: number;
  digest: string;
  target: string;
  /** Set when its environment serves a newer version of its view: due to be built again. */
  behind: { environment: string; serves: number } | null;
}

/** Repositories (verified snapshots), content views with the environments they serve, and image builds. */
export function SupplyChainPage(): ReactNode {
  const repos = useGet<{ items: RepoItem[] }>(url('/api/v1/repos'));
  const views = useGet<{ items: ViewItem[]; environments: { view: string; environment: string; version: number }[] }>(url('/api/v1/views'));
  const images = useGet<{ items: ImageItem[] }>(url('/api/v1/images'));
  const envs = views.data?.environments ?? [];
  return (
    <section>
      <h1 tabIndex={-1}>Supply chain</h1>
      <Err e={repos.message ?? views.message ?? images.message} />
      <h2>Upstream repositories</h2>
      <Table
        rows={repos.data?.items ?? []}
        columns={[
          ['repository', (r) => r.id],
          ['kind', (r) => r.kind],
          ['latest snapshot', (r) => (r.latest === null ? 'none' : `${r.latest.id.slice(0, 12)} (${day(r.latest.createdAt)})`)],
          ['packages', (r) => r.latest?.packages ?? '-'],
          ['signed by', (r) => r.latest?.signedBy ?? 'not verified'],
        ]}
        empty="No repository added yet (bulwark repo add)."
      />
      <h2>Content views</h2>
      <Table
        rows={views.data?.items ?? []}
        columns={[
          ['view', (v) => v.view],
          ['version', (v) => v.version],
          ['published', (v) => `${day(v.createdAt)} by ${v.createdBy}`],
          ['packages', (v) => v.packages],
          ['deviations', (v) => v.deviations],
          [
            'serves',
            (v) =>
              envs
                .filter((e) => e.view === v.view && e.version === v.version)
                .map((e) => e.environment)
                .join(', ') || '-',
          ],
        ]}
        empty="No content view published yet (bulwark view publish)."
      />
      <h2>Images</h2>
      <Table
        rows={images.data?.items ?? []}
        columns={[
          ['image', (b) => <HostLink name={b.target} />],
          ['type', (b) => b.type],
          ['from', (b) => `${b.view} v${String(b.viewVersion)}`],
          ['built', (b) => day(b.createdAt)],
          ['packages', (b) => b.packages],
          ['digest', (b) => <code title={b.digest}>{b.digest.slice(0, 19)}…</code>],
          [
            '',
            (b) =>
              b.behind === null ? null : (
                <span className="error">
                  behind: {b.behind.environment} serves v{b.behind.serves}
                </span>
              ),
          ],
        ]}
        empty="No image built yet (bulwark image build)."
      />
    </section>
  );
}
