import { kx, type Executor } from '../database.js';

/**
 * The notification outbox (issue #18 item 4): an event is stored once by its key (the unique
 * index makes two servers noticing the same thing store one row), with one delivery per channel;
 * deliveries are sent, retried with backoff, or dead-lettered.
 */
export interface DeliveryRow {
  pk: number;
  eventPk: number;
  channel: string;
  state: 'pending' | 'sent' | 'dead';
  attempts: number;
  nextAt: string;
  lastError: string | null;
  sentAt: string | null;
  key: string;
  kind: string;
  payload: unknown;
  createdAt: string;
}

/** Stores an event and its deliveries unless its key is already stored; true when it was new. Call inside a transaction. */
export async function insertNotifyEvent(
  on: Executor,
  e: { key: string; kind: string; payload: unknown; now: string; channels: readonly string[] },
): Promise<boolean> {
  const ex = kx(on);
  const row = await ex
    .insertInto('notify_events')
    .values({ key: e.key, kind: e.kind, payload: JSON.stringify(e.payload), created_at: e.now })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('pk')
    .executeTakeFirst();
  if (row === undefined) return false;
  if (e.channels.length > 0)
    await ex
      .insertInto('notify_deliveries')
      .values(e.channels.map((channel) => ({ event_pk: row.pk, channel, state: 'pending', attempts: 0, next_at: e.now, last_error: null, sent_at: null })))
      .execute();
  return true;
}

export async function notifyEventKeys(on: Executor, prefix: string): Promise<Set<string>> {
  const rows = await kx(on).selectFrom('notify_events').select('key').where('key', 'like', `${prefix}%`).execute();
  return new Set(rows.map((r) => r.key));
}

function toDelivery(r: {
  pk: number;
  event_pk: number;
  channel: string;
  state: string;
  attempts: number;
  next_at: string;
  last_error: string | null;
  sent_at: string | null;
  key: string;
  kind: string;
  payload: string;
  created_at: string;
}): DeliveryRow {
  return {
    pk: r.pk,
    eventPk: r.event_pk,
    channel: r.channel,
    state: r.state as DeliveryRow['state'],
    attempts: r.attempts,
    nextAt: r.next_at,
    lastError: r.last_error,
    sentAt: r.sent_at,
    key: r.key,
    kind: r.kind,
    payload: JSON.parse(r.payload) as unknown,
    createdAt: r.created_at,
  };
}

const COLUMNS = [
  'notify_deliveries.pk',
  'notify_deliveries.event_pk',
  'notify_deliveries.channel',
  'notify_deliveries.state',
  'notify_deliveries.attempts',
  'notify_deliveries.next_at',
  'notify_deliveries.last_error',
  'notify_deliveries.sent_at',
  'notify_events.key',
  'notify_events.kind',
  'notify_events.payload',
  'notify_events.created_at',
] as const;

/** Pending deliveries due at `now`, oldest first. */
export async function dueDeliveries(on: Executor, now: string, limit: number): Promise<DeliveryRow[]> {
  const rows = await kx(on)
    .selectFrom('notify_deliveries')
    .innerJoin('notify_events', 'notify_events.pk', 'notify_deliveries.event_pk')
    .select(COLUMNS)
    .where('notify_deliveries.state', '=', 'pending')
    .where('notify_deliveries.next_at', '<=', now)
    .orderBy('notify_deliveries.pk')
    .limit(limit)
    .execute();
  return rows.map(toDelivery);
}

export async function listDeliveries(on: Executor, o: { state?: DeliveryRow['state']; limit?: number } = {}): Promise<DeliveryRow[]> {
  let q = kx(on).selectFrom('notify_deliveries').innerJoin('notify_events', 'notify_events.pk', 'notify_deliveries.event_pk').select(COLUMNS);
  if (o.state !== undefined) q = q.where('notify_deliveries.state', '=', o.state);
  const rows = await q
    .orderBy('notify_deliveries.pk', 'desc')
    .limit(o.limit ?? 1000)
    .execute();
  return rows.map(toDelivery);
}

/**
 * Records the outcome of an attempt, only if the delivery is still as it was read (pending, with
 * that many attempts): a second sender that read it too changes nothing. True when recorded.
 */
export async function recordAttempt(
  on: Executor,
  d: { pk: number; attempts: number },
  outcome: { state: DeliveryRow['state']; nextAt: string; error: string | null; sentAt: string | null },
): Promise<boolean> {
  const r = await kx(on)
    .updateTable('notify_deliveries')
    .set({ state: outcome.state, attempts: d.attempts + 1, next_at: outcome.nextAt, last_error: outcome.error, sent_at: outcome.sentAt })
    .where('pk', '=', d.pk)
    .where('state', '=', 'pending')
    .where('attempts', '=', d.attempts)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Puts a dead-lettered delivery back in the queue. */
export async function requeueDelivery(on: Executor, pk: number, now: string): Promise<boolean> {
  const r = await kx(on)
    .updateTable('notify_deliveries')
    .set({ state: 'pending', attempts: 0, next_at: now })
    .where('pk', '=', pk)
    .where('state', '=', 'dead')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Findings first seen since `since` of a severity, or (any severity) of a CVE in the KEV catalog listed since then too. */
export async function findingsToAnnounce(
  on: Executor,
  since: string,
): Promise<
  { pk: number; target: string; advisory: string; package: string; severity: string; status: string; firstSeen: string; kevCves: string[]; kevSince: boolean }[]
> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('findings')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .leftJoin('advisory_cves', 'advisory_cves.advisory_pk', 'findings.advisory_pk')
    .leftJoin('kev_entries', (j) => j.onRef('kev_entries.cve', '=', 'advisory_cves.cve').on('kev_entries.removed_at', 'is', null))
    .select([
      'findings.pk',
      'targets.name',
      'advisories.advisory_id',
      'findings.package',
      'findings.severity',
      'findings.status',
      'findings.first_seen_at',
      'kev_entries.cve as kev_cve',
      'kev_entries.first_seen_at as kev_seen',
    ])
    .where('findings.status', 'in', ['open', 'no-fix'])
    .where((eb) =>
      eb.or([
        eb.and([eb('findings.first_seen_at', '>=', since), eb.or([eb('findings.severity', '=', 'critical'), eb('kev_entries.cve', 'is not', null)])]),
        eb('kev_entries.first_seen_at', '>=', since),
      ]),
    )
    .orderBy('findings.pk')
    .execute();
  const out = new Map<
    number,
    { pk: number; target: string; advisory: string; package: string; severity: string; status: string; firstSeen: string; kevCves: string[]; kevSince: boolean }
  >();
  for (const r of rows) {
    let f = out.get(r.pk);
    if (f === undefined)
      out.set(
        r.pk,
        (f = {
          pk: r.pk,
          target: r.name,
          advisory: r.advisory_id,
          package: r.package,
          severity: r.severity,
          status: r.status,
          firstSeen: r.first_seen_at,
          kevCves: [],
          kevSince: false,
        }),
      );
    if (r.kev_cve !== null && !f.kevCves.includes(r.kev_cve)) f.kevCves.push(r.kev_cve);
  }
  return [...out.values()];
}

/** Runs halted, and run steps failed, since `since`. */
export async function runTroubleSince(
  on: Executor,
  since: string,
): Promise<{
  halted: { pk: number; policy: string; at: string }[];
  failed: { run: number; policy: string; target: string; kind: string; at: string; exitCode: number | null }[];
}> {
  const ex = kx(on);
  const halted = await ex.selectFrom('runs').select(['pk', 'policy', 'updated_at']).where('status', '=', 'halted').where('updated_at', '>=', since).execute();
  const failed = await ex
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select(['run_steps.run_pk', 'runs.policy', 'run_steps.target_name', 'run_steps.kind', 'run_steps.finished_at', 'run_steps.exit_code'])
    .where('run_steps.state', '=', 'failed')
    .where('run_steps.finished_at', '>=', since)
    .execute();
  return {
    halted: halted.map((r) => ({ pk: r.pk, policy: r.policy, at: r.updated_at })),
    failed: failed.map((r) => ({ run: r.run_pk, policy: r.policy, target: r.target_name, kind: r.kind, at: r.finished_at ?? '', exitCode: r.exit_code })),
  };
}
