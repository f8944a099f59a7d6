import { policyJsonSchema } from '../../policy/load.js';
import { applyPolicyFile, listPolicies, makePlan, planDiff } from '../../services/policies.js';
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
