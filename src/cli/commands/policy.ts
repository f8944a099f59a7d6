import { policyJsonSchema } from '../../policy/load.js';
import { applyPolicyFile, decide, decisions, listPolicies, makePlan, planDiff, revoke } from '../../services/policies.js';
import { openStore } from '../../services/store.js';
import { recordAudit } from '../../services/audit.js';
import { actorOf } from '../io.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function policyApplyCommand(o: Common & { file: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await applyPolicyFile(db, o.file);
    if (r.created) await recordAudit(db, actorOf(o.io), 'policy.apply', r.name, { version: r.version, file: o.file });
    await writeAll(o.io.stdout, r.created ? `policy ${r.name}: version ${String(r.version)} applied\n` : `policy ${r.name}: unchanged (version ${String(r.version)})\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function policyListCommand(o: Common): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const list = await listPolicies(db);
    await writeAll(o.io.stdout, formatTable(['POLICY', 'VERSION', 'APPLIED'], list.map((p) => [p.name, String(p.version), p.appliedAt])));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function policySchemaCommand(o: { io: CliIo }): Promise<ExitCode> {
  await writeAll(o.io.stdout, JSON.stringify(policyJsonSchema(), null, 2) + '\n');
  return EXIT.ok;
}

/** `bulwark plan --policy NAME [--at TIME] [--format json]`: the plan as the policy would run it now (or at TIME). */
export async function planCommand(o: Common & { policy: string; at: Date | undefined; format: 'table' | 'json' }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const { plan, policyVersion, pk } = await makePlan(db, o.policy, { ...(o.at !== undefined ? { at: o.at } : {}), save: o.at === undefined });
    if (pk !== null) await recordAudit(db, actorOf(o.io), 'plan.create', o.policy, { plan: pk, policyVersion, hosts: plan.entries.length, breaches: plan.breaches.length });
    if (o.format === 'json') {
      await writeAll(o.io.stdout, JSON.stringify({ policyVersion, ...plan }, null, 2) + '\n');
      return EXIT.ok;
    }
    const lines = [`plan of ${plan.policy} v${String(policyVersion)} at ${plan.generatedAt}; next monthly cycle ${plan.cycle.next}`];
    lines.push(
      formatTable(
        ['RING', 'HOST', 'START', 'WINDOW', 'DEADLINE', 'APPROVAL', 'REBOOT', 'PACKAGES'],
        plan.entries.map((e) => [e.ring, e.target, e.start, e.window ?? (e.emergency ? 'emergency' : '-'), e.deadline, e.approval, e.reboot ? 'yes' : 'no', e.packages.map((p) => `${p.name}→${p.to}`).join(' ')]),
      ).trimEnd(),
    );
    for (const e of plan.entries) {
      for (const h of e.held) lines.push(`  ${e.target}: held ${h.advisory} until ${h.until}: ${h.reason}`);
      for (const x of e.excluded) lines.push(`  ${e.target}: not updating ${x.package}: ${x.why}`);
      if (e.awaitingApproval.length > 0) lines.push(`  ${e.target}: waits for approval of ${e.awaitingApproval.join(', ')} (bulwark approve --policy ${plan.policy} ADVISORY…)`);
    }
    if (plan.breaches.length > 0) lines.push(`${String(plan.breaches.length)} findings past their deadline:`, ...plan.breaches.slice(0, 20).map((b) => `  ${b.target} ${b.advisory} ${b.package}: due ${b.deadline}, ${String(b.overdueHours)} h overdue`));
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function planDiffCommand(o: Common & { policy: string; format: 'table' | 'json' }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const { diff, previousAt } = await planDiff(db, o.policy);
    if (o.format === 'json') await writeAll(o.io.stdout, JSON.stringify({ previousAt, ...diff }, null, 2) + '\n');
    else {
      const lines = [`since ${previousAt ?? 'no earlier plan'}: ${String(diff.added.length)} hosts added, ${String(diff.removed.length)} removed, ${String(diff.changed.length)} changed`];
      for (const t of diff.added) lines.push(`+ ${t}`);
      for (const t of diff.removed) lines.push(`- ${t}`);
      for (const c of diff.changed) lines.push(`~ ${c.target}: ${c.what.join('; ')}`);
      await writeAll(o.io.stdout, lines.join('\n') + '\n');
    }
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark approve --policy P ADV…`, `bulwark hold --policy P ADV --reason R [--until T]`, `bulwark unhold --policy P ADV`. */
export async function decideCommand(o: Common & { kind: 'approve' | 'hold' | 'unhold' | 'unapprove'; policy: string; advisories: string[]; reason: string | undefined; until: string | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const actor = actorOf(o.io);
    const lines: string[] = [];
    for (const advisoryId of o.advisories) {
      if (o.kind === 'unhold' || o.kind === 'unapprove') {
        const kind = o.kind === 'unhold' ? 'hold' : 'approve';
        await revoke(db, { policy: o.policy, advisoryId, kind, actor });
        lines.push(`${o.policy}: ${kind === 'hold' ? 'hold on' : 'approval of'} ${advisoryId} lifted`);
      } else if (o.kind === 'approve') {
        await decide(db, { policy: o.policy, advisoryId, kind: 'approve', reason: o.reason ?? 'approved', until: o.until ?? null, actor });
        lines.push(`${o.policy}: ${advisoryId} approved${o.until === undefined ? '' : ` until ${o.until}`}`);
      } else {
        // A hold always expires: 30 days unless --until says otherwise.
        const until = o.until ?? new Date(Date.now() + 30 * 86_400_000).toISOString();
        await decide(db, { policy: o.policy, advisoryId, kind: 'hold', reason: o.reason ?? '', until, actor });
        lines.push(`${o.policy}: ${advisoryId} held until ${until}`);
      }
    }
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark decisions [--policy P] [--history] [--json]`: approvals and holds in force (or all of them). */
export async function decisionsCommand(o: Common & { policy: string | undefined; history: boolean; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const list = await decisions(db, { ...(o.policy !== undefined ? { policy: o.policy } : {}), history: o.history });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(list, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['POLICY', 'ADVISORY', 'DECISION', 'UNTIL', 'BY', 'AT', 'REASON', ...(o.history ? ['LIFTED'] : [])],
          list.map((d) => [d.policy, d.advisoryId, d.kind, d.until ?? '-', d.actor, d.createdAt, d.reason, ...(o.history ? [d.revokedAt === null ? '-' : `${d.revokedAt} by ${d.revokedBy ?? '?'}`] : [])]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
