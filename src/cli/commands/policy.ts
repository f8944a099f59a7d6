import { policyJsonSchema } from '../../policy/load.js';
import { timelineOf } from '../../services/plan-timeline.js';
import { renderPlan } from '../plan-render.js';
export { overdue, renderPlan, zoned } from '../plan-render.js';
import { reachableTarget } from '../../services/run-transport.js';
import { applyPolicyFile, decide, decisions, listPolicies, makePlan, planDiff, requirePolicy, revoke } from '../../services/policies.js';
import { openStore } from '../../services/store.js';
import { actorOf } from '../io.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import { BulwarkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, timeOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function policyApplyCommand(o: Common & { file: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await applyPolicyFile(db, o.file, actorOf(o.io));
    await writeAll(
      o.io.stdout,
      r.created ? `policy ${r.name}: version ${String(r.version)} applied\n` : `policy ${r.name}: unchanged (version ${String(r.version)})\n`,
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function policyListCommand(o: Common): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const list = await listPolicies(db);
    await writeAll(
      o.io.stdout,
      formatTable(
        ['POLICY', 'VERSION', 'APPLIED'],
        list.map((p) => [p.name, String(p.version), p.appliedAt]),
      ),
    );
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
    // Targets no run can reach (imported inventories, no address) are left out of the rings, as a run leaves them.
    const made = await makePlan(db, o.policy, {
      ...(o.at !== undefined ? { at: o.at } : {}),
      save: o.at === undefined,
      audit: actorOf(o.io),
      reachable: reachableTarget,
    });
    const { policy, policyVersion } = made;
    // The plan's fields as before, plus the policy's time zone, windows and an emergency entry's `rest` (added, nothing renamed).
    const plan = timelineOf(made.plan, policy);
    if (o.format === 'json') {
      await writeAll(o.io.stdout, JSON.stringify({ policyVersion, ...plan }, null, 2) + '\n');
      return EXIT.ok;
    }
    await writeAll(o.io.stdout, renderPlan(plan, policyVersion, policy.rollout.soakHours));
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
      const lines = [
        `since ${previousAt ?? 'no earlier plan'}: ${plural(diff.added.length, 'host')} added, ${String(diff.removed.length)} removed, ${String(diff.changed.length)} changed`,
      ];
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
export async function decideCommand(
  o: Common & {
    kind: 'approve' | 'hold' | 'unhold' | 'unapprove';
    policy: string;
    advisories: string[];
    reason: string | undefined;
    until: string | undefined;
  },
): Promise<ExitCode> {
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
    if (o.policy !== undefined) await requirePolicy(db, o.policy);
    const list = await decisions(db, { ...(o.policy !== undefined ? { policy: o.policy } : {}), history: o.history });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(list, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['POLICY', 'ADVISORY', 'DECISION', 'UNTIL', 'BY', 'AT', 'REASON', ...(o.history ? ['LIFTED'] : [])],
          list.map((d) => [
            d.policy,
            d.advisoryId,
            d.kind,
            d.until ?? '-',
            d.actor,
            d.createdAt,
            d.reason,
            ...(o.history ? [d.revokedAt === null ? '-' : `${d.revokedAt} by ${d.revokedBy ?? '?'}`] : []),
          ]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark policy`, `plan`, the decisions (`approve`, `hold`, `unhold`, `unapprove`) and `decisions`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const policy = describe(
    program.command('policy'),
    'patch policies (YAML), versioned in the store',
    'bulwark policy apply -f policies/monthly.yaml',
    'bulwark policy list',
  );
  describe(
    policy.command('apply'),
    'store a policy file as the next version of its policy (checked first: every error at once)',
    'bulwark policy apply -f policies/monthly.yaml',
  )
    .requiredOption('-f, --file <file>', 'the policy YAML')
    .action(async (o: { file: string }) => {
      ctx.exit = await policyApplyCommand({ io, dbPath: ctx.dbPath(), file: o.file });
    });
  describe(policy.command('list'), 'list policies and their current versions', 'bulwark policy list').action(async () => {
    ctx.exit = await policyListCommand({ io, dbPath: ctx.dbPath() });
  });
  describe(policy.command('schema'), 'print the JSON Schema of policy files, for editors', 'bulwark policy schema > policy.schema.json').action(async () => {
    ctx.exit = await policySchemaCommand({ io });
  });

  describe(
    program.command('plan'),
    'the plan a policy makes from the current findings (per host the exact packages and versions, ring, window, deadline, reboot); `plan diff` shows what changed since the last stored plan',
    'bulwark plan --policy monthly',
    'bulwark plan diff --policy monthly',
    'bulwark plan --policy monthly --at 2026-07-01T00:00:00Z --format json',
  )
    .argument('[diff]', '"diff": compare with the last stored plan')
    .option('--policy <name>', 'the policy')
    .addOption(timeOption('--at <time>', 'assemble the plan as of this ISO 8601 time (not stored)'))
    .addOption(enumOption('--format <format>', 'output', ['table', 'json'], { default: 'table' }))
    .action(async (what: string | undefined, o: { policy?: string; at?: Date; format: 'table' | 'json' }) => {
      if (o.policy === undefined) throw new BulwarkError('usage', 'plan needs --policy NAME');
      if (what !== undefined && what !== 'diff') throw new BulwarkError('usage', `plan: unknown "${what}" (plan [diff] --policy NAME)`);
      ctx.exit =
        what === 'diff'
          ? await planDiffCommand({ io, dbPath: ctx.dbPath(), policy: o.policy, format: o.format })
          : await planCommand({ io, dbPath: ctx.dbPath(), policy: o.policy, at: o.at, format: o.format });
    });

  for (const [kind, description, example] of [
    [
      'approve',
      'approve advisories under a policy: plan entries waiting for approval (manual rules, monthly work before auto-approval) may run',
      'bulwark approve AZL-2026-1234 --policy monthly --reason "CAB 2026-07"',
    ],
    [
      'hold',
      'hold an advisory under a policy, with a reason, until a time (default 30 days): its updates stay out of plans',
      'bulwark hold AZL-2026-1234 --policy monthly --reason "breaks the app" --until 2026-08-01',
    ],
    ['unhold', 'lift the hold on an advisory', 'bulwark unhold AZL-2026-1234 --policy monthly'],
    ['unapprove', 'withdraw the approval of an advisory', 'bulwark unapprove AZL-2026-1234 --policy monthly --reason "approved by mistake"'],
  ] as const) {
    describe(program.command(kind), description, example)
      .argument('<advisory...>', 'advisory ids, e.g. AZL-2026-1234')
      .requiredOption('--policy <name>', 'the policy')
      .option('--reason <text>', kind === 'hold' ? 'why (required)' : 'why')
      .addOption(timeOption('--until <time>', 'ISO 8601 date or time the decision expires (a date: its end, UTC)', { endOfDay: true }))
      .action(async (advisories: string[], o: { policy: string; reason?: string; until?: Date }) => {
        if (kind === 'hold' && o.reason === undefined) throw new BulwarkError('usage', 'hold needs --reason');
        ctx.exit = await decideCommand({ io, dbPath: ctx.dbPath(), kind, policy: o.policy, advisories, reason: o.reason, until: o.until?.toISOString() });
      });
  }
  describe(
    program.command('decisions'),
    'approvals and holds in force (with --history: all of them, lifted and expired too)',
    'bulwark decisions --policy monthly',
    'bulwark decisions --history --json',
  )
    .option('--policy <name>', 'only this policy')
    .option('--history', 'include lifted and expired decisions')
    .option('--json', 'print JSON')
    .action(async (o: { policy?: string; history?: boolean; json?: boolean }) => {
      ctx.exit = await decisionsCommand({ io, dbPath: ctx.dbPath(), policy: o.policy, history: o.history === true, json: o.json === true });
    });
}
