import { randomUUID } from 'node:crypto';
import { sendToChannel, type NotifyEvent } from '../notify/channels.js';
import type { NotifyEventKind, NotifyRules } from '../notify/schema.js';
import {
  dueDeliveries,
  findingsToAnnounce,
  insertNotifyEvent,
  listAgentRows,
  listDeliveries,
  recordAttempt,
  requeueDelivery,
  runTroubleSince,
  transaction,
  type DeliveryRow,
} from '../storage/index.js';
import { BulwarkError } from '../core/errors.js';
import { recordAudit, type Actor } from './audit.js';
import { listSources } from './feed-sources.js';
import { acquireLease } from './lease.js';
import { listPolicies, makePlan } from './policies.js';
import { systemClock, type Clock, type Db } from './store.js';

export { loadNotifyFile, notifyRulesSchema, parseNotifyText, NOTIFY_EVENTS, type NotifyRules } from '../notify/schema.js';
export { signature } from '../notify/channels.js';

/**
 * Notifications (issue #18 item 4). Each pass (every `intervalSeconds` in `bulwark serve
 * --notify FILE`) does two things:
 * 1. notices events — new critical or KEV findings, SLA breaches (actual, and predicted by the
 *    plans), halted runs and failed hosts, stale or failing feeds, silent agents — and stores
 *    each in the outbox under a key naming what happened (`finding.critical:42`), with one
 *    delivery per channel its rules name. The key is unique in the database: two servers that
 *    notice the same thing store it once.
 * 2. holding the lease `notify` (services/lease.ts), so one server at a time sends, delivers
 *    what is due: sent, or retried after backoff × 2^(attempts−1), or dead-lettered after the
 *    last attempt. An attempt is recorded only if the delivery is still as it was read.
 */
type Found = { key: string; kind: NotifyEventKind; title: string; text: string; data: Record<string, unknown> };

const HOUR = 3_600_000;

async function detect(db: Db, rules: NotifyRules, now: Date, wanted: ReadonlySet<NotifyEventKind>): Promise<Found[]> {
  const out: Found[] = [];
  const since = new Date(now.getTime() - rules.lookbackHours * HOUR).toISOString();
  if (wanted.has('finding.critical') || wanted.has('finding.kev'))
    for (const f of await findingsToAnnounce(db, since)) {
      const data = { host: f.target, advisory: f.advisory, package: f.package, severity: f.severity, firstSeen: f.firstSeen, kevCves: f.kevCves };
      if (f.severity === 'critical' && f.firstSeen >= since && wanted.has('finding.critical'))
        out.push({
          key: `finding.critical:${String(f.pk)}`,
          kind: 'finding.critical',
          title: `Critical finding on ${f.target}: ${f.advisory}`,
          text: `${f.package} on ${f.target} is affected by ${f.advisory} (critical), first seen ${f.firstSeen}.`,
          data,
        });
      if (f.kevCves.length > 0 && wanted.has('finding.kev'))
        out.push({
          key: `finding.kev:${String(f.pk)}`,
          kind: 'finding.kev',
          title: `Known exploited vulnerability on ${f.target}: ${f.kevCves.join(', ')}`,
          text: `${f.package} on ${f.target} is affected by ${f.advisory}, whose ${f.kevCves.join(', ')} CISA lists as known exploited.`,
          data,
        });
    }
  if (wanted.has('sla.breach') || wanted.has('sla.predicted-breach'))
    for (const p of await listPolicies(db)) {
      const { plan } = await makePlan(db, p.name, { at: now });
      if (wanted.has('sla.breach'))
        for (const b of plan.breaches)
          out.push({
            key: `sla.breach:${p.name}:${b.target}:${b.advisory}:${b.package}`,
            kind: 'sla.breach',
            title: `SLA breached on ${b.target}: ${b.advisory}`,
            text: `${b.package} on ${b.target} (${b.advisory}) was due ${b.deadline} under policy ${p.name}; ${String(Math.round(b.overdueHours))} hours overdue.`,
            data: { policy: p.name, host: b.target, advisory: b.advisory, package: b.package, deadline: b.deadline, overdueHours: b.overdueHours },
          });
      if (wanted.has('sla.predicted-breach'))
        for (const e of plan.entries)
          if (e.predictedBreach !== undefined)
            out.push({
              key: `sla.predicted-breach:${p.name}:${e.target}:${e.deadline}`,
              kind: 'sla.predicted-breach',
              title: `SLA breach predicted on ${e.target}`,
              text: `Under policy ${p.name}, ${e.target} ${e.predictedBreach === 'start' ? 'starts' : 'may finish'} after its deadline ${e.deadline} (ring ${e.ring}, start ${e.start}).`,
              data: { policy: p.name, host: e.target, deadline: e.deadline, start: e.start, ring: e.ring, why: e.predictedBreach },
            });
    }
  if (wanted.has('run.halted') || wanted.has('host.failed')) {
    const t = await runTroubleSince(db, since);
    if (wanted.has('run.halted'))
      for (const r of t.halted)
        out.push({
          key: `run.halted:${String(r.pk)}`,
          kind: 'run.halted',
          title: `Run ${String(r.pk)} of ${r.policy} halted`,
          text: `Patch run ${String(r.pk)} (policy ${r.policy}) halted at ${r.at}: too many hosts failed.`,
          data: { run: r.pk, policy: r.policy, at: r.at },
        });
    if (wanted.has('host.failed'))
      for (const f of t.failed)
        out.push({
          key: `host.failed:${String(f.run)}:${f.target}:${f.kind}`,
          kind: 'host.failed',
          title: `${f.target} failed in run ${String(f.run)}`,
          text: `The ${f.kind} step on ${f.target} failed in run ${String(f.run)} (policy ${f.policy}) at ${f.at}${f.exitCode === null ? '' : `, exit ${String(f.exitCode)}`}.`,
          data: { run: f.run, policy: f.policy, host: f.target, step: f.kind, at: f.at, exitCode: f.exitCode },
        });
  }
  if (wanted.has('feed.stale') || wanted.has('feed.failing'))
    for (const s of await listSources(db, () => now)) {
      const fr = s.freshness;
      if (wanted.has('feed.stale') && fr.state === 'stale')
        out.push({
          key: `feed.stale:${s.id}:${fr.newestAt ?? ''}:${fr.lastSuccessAt ?? ''}`,
          kind: 'feed.stale',
          title: `Feed ${s.id} is stale`,
          text: `${s.id}: ${fr.reason ?? 'stale'}.`,
          data: { source: s.id, newestAt: fr.newestAt, lastSuccessAt: fr.lastSuccessAt },
        });
      const a = fr.lastAttempt;
      if (wanted.has('feed.failing') && a !== null && (a.status === 'failed' || a.status === 'refused'))
        out.push({
          key: `feed.failing:${s.id}:${a.at}`,
          kind: 'feed.failing',
          title: `Feed ${s.id}: sync ${a.status}`,
          text: `The sync of ${s.id} at ${a.at} ${a.status}: ${a.error ?? 'no error recorded'}.`,
          data: { source: s.id, at: a.at, status: a.status, error: a.error },
        });
    }
  if (wanted.has('agent.silent'))
    for (const a of await listAgentRows(db)) {
      if (a.revokedAt !== null) continue;
      const last = a.lastSeenAt ?? a.enrolledAt;
      if (now.getTime() - Date.parse(last) > rules.agentSilentHours * HOUR)
        out.push({
          key: `agent.silent:${a.id}:${last}`,
          kind: 'agent.silent',
          title: `Agent on ${a.hostname} is silent`,
          text: `The agent of ${a.hostname} has not reported since ${last} (more than ${String(rules.agentSilentHours)} hours).`,
          data: { agent: a.id, host: a.hostname, lastSeenAt: a.lastSeenAt },
        });
    }
  return out;
}

/** Notices events and stores the new ones with their deliveries; returns how many were new. */
export async function noticeEvents(db: Db, rules: NotifyRules, clock: Clock = systemClock): Promise<number> {
  const byKind = new Map<NotifyEventKind, Set<string>>();
  for (const r of rules.rules) for (const k of r.events) for (const c of r.channels) byKind.set(k, (byKind.get(k) ?? new Set()).add(c));
  if (byKind.size === 0) return 0;
  const now = clock();
  let added = 0;
  for (const f of await detect(db, rules, now, new Set(byKind.keys()))) {
    const channels = [...(byKind.get(f.kind) ?? [])].sort();
    const payload = { title: f.title, text: f.text, data: f.data };
    if (await transaction(db, (tx) => insertNotifyEvent(tx, { key: f.key, kind: f.kind, payload, now: now.toISOString(), channels }))) added++;
  }
  return added;
}

/** Sends the deliveries due now, holding the `notify` lease; what happened to each. */
export async function deliverDue(
  db: Db,
  rules: NotifyRules,
  o: { env?: NodeJS.ProcessEnv; holder?: string; clock?: Clock; leaseTtlMs?: number } = {},
): Promise<{ sent: number; retried: number; dead: number; skipped: boolean }> {
  const clock = o.clock ?? systemClock;
  const lease = await acquireLease(db, 'notify', o.holder ?? `notify:${process.pid}:${randomUUID()}`, { ttlMs: o.leaseTtlMs ?? 30_000 });
  if (lease === null) return { sent: 0, retried: 0, dead: 0, skipped: true };
  const counts = { sent: 0, retried: 0, dead: 0, skipped: false };
  try {
    const channels = new Map(rules.channels.map((c) => [c.name, c]));
    for (const d of await dueDeliveries(db, clock().toISOString(), 200)) {
      if (lease.lost()) break;
      const ch = channels.get(d.channel);
      const p = d.payload as { title: string; text: string; data: Record<string, unknown> };
      const event: NotifyEvent = { id: d.eventPk, key: d.key, kind: d.kind, createdAt: d.createdAt, title: p.title, text: p.text, data: p.data };
      let error: string | null = null;
      try {
        if (ch === undefined) throw new Error(`no channel named ${d.channel} in the notify rules any more`);
        await sendToChannel(ch, event, o.env ?? process.env, clock());
      } catch (err) {
        error = (err as Error).message.slice(0, 2000);
      }
      const now = clock();
      const attempts = d.attempts + 1;
      const dead = error !== null && attempts >= rules.retry.attempts;
      const nextAt = new Date(now.getTime() + rules.retry.backoffSeconds * 1000 * 2 ** (attempts - 1)).toISOString();
      await recordAttempt(db, d, {
        state: error === null ? 'sent' : dead ? 'dead' : 'pending',
        nextAt: error === null ? d.nextAt : nextAt,
        error,
        sentAt: error === null ? now.toISOString() : null,
      });
      if (error === null) counts.sent++;
      else if (dead) counts.dead++;
      else counts.retried++;
    }
  } finally {
    await lease.release();
  }
  return counts;
}

/** The dead letters (deliveries that ran out of attempts), newest first, or every delivery of a state. */
export function deliveries(db: Db, state?: DeliveryRow['state']): Promise<DeliveryRow[]> {
  return listDeliveries(db, state === undefined ? {} : { state });
}

/** Puts a dead letter back in the queue (audited as `notify.retry`). */
export async function retryDeadLetter(db: Db, pk: number, actor: Actor, clock: Clock = systemClock): Promise<void> {
  if (!(await requeueDelivery(db, pk, clock().toISOString()))) throw new BulwarkError('usage', `delivery ${String(pk)} is not a dead letter`);
  await recordAudit(db, actor, 'notify.retry', `delivery:${String(pk)}`, {}, clock);
}

/**
 * Runs notification passes until `signal` aborts: notice, then deliver, every `intervalSeconds`.
 * Errors of a pass are logged and the next pass goes on.
 */
export function startNotifier(
  db: Db,
  rules: NotifyRules,
  o: { env?: NodeJS.ProcessEnv; log?: (msg: string, meta: Record<string, unknown>) => void; holder?: string } = {},
): { stop: () => Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const holder = o.holder ?? `notify:${process.pid}:${randomUUID()}`;
  const pass = async (): Promise<void> => {
    try {
      const added = await noticeEvents(db, rules);
      const r = await deliverDue(db, rules, { holder, ...(o.env !== undefined ? { env: o.env } : {}) });
      if (added > 0 || r.sent + r.retried + r.dead > 0) o.log?.('notifications', { added, ...r });
    } catch (err) {
      o.log?.('notification pass failed', { err: (err as Error).message });
    }
  };
  const tick = (): void => {
    if (stopped) return;
    running = pass().finally(() => {
      if (!stopped) timer = setTimeout(tick, rules.intervalSeconds * 1000);
    });
  };
  timer = setTimeout(tick, 200);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
