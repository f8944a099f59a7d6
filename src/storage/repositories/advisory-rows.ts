import type { Advisory } from '../../core/advisory.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import type { AdvisoryRow } from '../schema.js';

// The row-level pieces the live upsert and a sync's staging share: an advisory as columns, its
// CVEs, references and fixes as child rows, and its change events. Not exported from storage.

export type AdvisoryEventKind = 'added' | 'changed' | 'withdrawn' | 'restored';

export interface AdvisoryEvent {
  source: string;
  advisoryId: string;
  at: string;
  kind: AdvisoryEventKind;
  detail: Record<string, unknown>;
}

export type Columns = Omit<AdvisoryRow, 'pk' | 'first_seen_at' | 'withdrawn_at'>;

export function columns(a: Advisory, fp: string, now: string): Columns {
  return {
    source: a.source,
    advisory_id: a.id,
    title: a.title,
    description: a.description,
    severity: a.severity,
    cvss_score: a.cvssScore,
    cvss_vector: a.cvssVector,
    cvss_v4_score: a.cvssV4?.score ?? null,
    cvss_v4_vector: a.cvssV4?.vector ?? null,
    published_at: a.publishedAt,
    updated_at: a.updatedAt,
    parser: a.parser,
    kind: a.kind ?? 'security',
    oval: a.oval === undefined ? null : JSON.stringify(a.oval),
    fingerprint: fp,
    last_changed_at: now,
  };
}

// The fields whose change an operator wants to see named in the history.
export const WATCHED = ['title', 'severity', 'cvss_score', 'cvss_vector', 'cvss_v4_score', 'cvss_v4_vector', 'updated_at', 'kind'] as const;

/** Inserts the CVEs, references and fixes of many advisories with multi-row statements. */
export async function insertChildren(on: Executor, items: readonly { pk: number; a: Advisory }[]): Promise<void> {
  const ex = kx(on);
  const cves = items.flatMap(({ pk, a }) => [...new Set(a.cves)].map((cve) => ({ advisory_pk: pk, cve })));
  for (const c of chunks(cves, 2)) await ex.insertInto('advisory_cves').values(c).execute();
  const refs = items.flatMap(({ pk, a }) => a.references.map((r, seq) => ({ advisory_pk: pk, seq, type: r.type, ref_id: r.id, url: r.url })));
  for (const c of chunks(refs, 5)) await ex.insertInto('advisory_references').values(c).execute();
  const fixes = items.flatMap(({ pk, a }) =>
    a.fixes.map((f, seq) => ({
      advisory_pk: pk,
      seq,
      release_id: f.release,
      package: f.package,
      package_kind: f.packageKind,
      arch: f.arch,
      status: f.status,
      fixed: f.fixed,
      last_affected: f.lastAffected,
      introduced: f.introduced?.version ?? null,
      introduced_inclusive: f.introduced === null || f.introduced.inclusive ? 1 : 0,
      module: f.module ?? null,
      channel: f.channel ?? null,
      reboot_suggested: f.rebootSuggested === undefined ? null : f.rebootSuggested ? 1 : 0,
      epoch_unreliable: f.epochUnreliable === true ? 1 : 0,
    })),
  );
  for (const c of chunks(fixes, 15)) await ex.insertInto('fixes').values(c).execute();
}

export async function deleteChildren(on: Executor, pks: readonly number[]): Promise<void> {
  const ex = kx(on);
  for (const c of chunks(pks, 1, 5000)) {
    await ex.deleteFrom('advisory_cves').where('advisory_pk', 'in', c).execute();
    await ex.deleteFrom('advisory_references').where('advisory_pk', 'in', c).execute();
    await ex.deleteFrom('fixes').where('advisory_pk', 'in', c).execute();
  }
}

/** One fix as a short line for change history: `azurelinux:3.0 golang fixed <1.20.7-1.azl3`. */
function fixLine(f: {
  release_id: string;
  package: string;
  arch: string | null;
  status: string;
  fixed: string | null;
  last_affected: string | null;
  introduced: string | null;
  module: string | null;
  channel?: string | null;
}): string {
  const range = [f.introduced === null ? '' : `>${f.introduced}`, f.fixed === null ? '' : `<${f.fixed}`, f.last_affected === null ? '' : `<=${f.last_affected}`]
    .filter((x) => x !== '')
    .join(' ');
  return `${f.release_id} ${f.package}${f.arch === null ? '' : `.${f.arch}`}${f.module === null ? '' : ` [${f.module}]`}${f.channel === null || f.channel === undefined ? '' : ` (${f.channel})`} ${f.status}${range === '' ? '' : ` ${range}`}`;
}

/** Adds `fixes: { added, removed }` to each rewritten advisory's `changed` event when its fixes changed. */
export async function describeFixChanges(on: Executor, rewritten: readonly { pk: number; a: Advisory }[], events: PendingEvent[]): Promise<void> {
  const ex = kx(on);
  const before = new Map<number, Set<string>>();
  for (const c of chunks(
    rewritten.map((r) => r.pk),
    1,
    5000,
  )) {
    const rows = await ex
      .selectFrom('fixes')
      .select(['advisory_pk', 'release_id', 'package', 'arch', 'status', 'fixed', 'last_affected', 'introduced', 'module', 'channel'])
      .where('advisory_pk', 'in', c)
      .execute();
    for (const r of rows) {
      let set = before.get(r.advisory_pk);
      if (set === undefined) before.set(r.advisory_pk, (set = new Set()));
      set.add(fixLine(r));
    }
  }
  for (const { pk, a } of rewritten) {
    const old = before.get(pk) ?? new Set<string>();
    const now = new Set(
      a.fixes.map((f) =>
        fixLine({
          release_id: f.release,
          package: f.package,
          arch: f.arch,
          status: f.status,
          fixed: f.fixed,
          last_affected: f.lastAffected,
          introduced: f.introduced?.version ?? null,
          module: f.module ?? null,
          channel: f.channel ?? null,
        }),
      ),
    );
    const added = [...now].filter((x) => !old.has(x));
    const removed = [...old].filter((x) => !now.has(x));
    if (added.length === 0 && removed.length === 0) continue;
    const ev = events.find((e) => e.pk === pk && e.kind === 'changed');
    if (ev === undefined) continue;
    if (ev.detail['content'] !== undefined) delete ev.detail['content'];
    ev.detail['fixes'] = { added: added.slice(0, 50), removed: removed.slice(0, 50) };
  }
}

export interface PendingEvent {
  pk: number;
  kind: AdvisoryEventKind;
  detail: Record<string, unknown>;
}

export async function addEvents(on: Executor, at: string, events: readonly PendingEvent[]): Promise<void> {
  const ex = kx(on);
  const rows = events.map((e) => ({ advisory_pk: e.pk, at, kind: e.kind, detail: JSON.stringify(e.detail) }));
  for (const c of chunks(rows, 4)) await ex.insertInto('advisory_events').values(c).execute();
}

/**
 * Inserts advisory rows, as many to a statement as the bound-parameter limit allows for their
 * columns, and returns each with its new pk: the live upsert (`withdrawnAt` null) and a sync's
 * staging (withdrawn until published) share it.
 */
export async function insertAdvisoryRows(
  on: Executor,
  fresh: readonly { a: Advisory; cols: Columns }[],
  now: string,
  withdrawnAt: string | null,
): Promise<{ pk: number; a: Advisory }[]> {
  const ex = kx(on);
  const inserted: { pk: number; a: Advisory }[] = [];
  // Parameters per row: the row's columns plus first_seen_at and withdrawn_at, counted from the
  // rows themselves (a hand-kept count went stale when CVSS 4.0 added two columns).
  for (const c of chunks(fresh, (fresh[0] === undefined ? 0 : Object.keys(fresh[0].cols).length) + 2)) {
    const pks = await ex
      .insertInto('advisories')
      .values(c.map((x) => ({ ...x.cols, first_seen_at: now, withdrawn_at: withdrawnAt })))
      .returning(['pk', 'advisory_id'])
      .execute();
    const byId = new Map(pks.map((r) => [r.advisory_id, r.pk]));
    for (const x of c) {
      const pk = byId.get(x.a.id);
      if (pk === undefined) throw new Error(`storage: no pk returned for advisory ${x.a.id}`);
      inserted.push({ pk, a: x.a });
    }
  }
  return inserted;
}
