import { policyJsonSchema } from '../../policy/load.js';
import type { Gate, Hook } from '../../policy/safety-schema.js';
import type { Plan, PlannedPackage } from '../../policy/plan.js';
import { timelineOf, type PlanTimeline } from '../../services/plan-timeline.js';
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

/** A policy's hooks, gates, restarts and rollback as one line of `bulwark plan` (issue #15). */
function safetyLine(x: NonNullable<Plan['safety']>): string {
  const hook = (h: Hook): string => ('command' in h ? `command ${h.command}` : `http ${h.http}`);
  const gate = (g: Gate): string =>
    `${'systemd' in g ? `systemd ${g.systemd}` : 'tcp' in g ? `tcp ${String(g.tcp)}` : 'http' in g ? `http ${g.http}` : `command ${g.command}`}${g.withinSeconds > 0 ? ` within ${String(g.withinSeconds)} s` : ''}`;
  return [
    ...(x.hooks.pre.length > 0 ? [`pre hooks ${x.hooks.pre.map(hook).join(', ')}`] : []),
    ...(x.hooks.snapshot !== undefined ? [`snapshot ${hook(x.hooks.snapshot)}`] : []),
    ...(x.restart === 'services' ? ['restart services still using replaced files'] : []),
    ...(x.gates.length > 0 ? [`gates ${x.gates.map(gate).join(', ')}`] : []),
    ...(x.hooks.post.length > 0 ? [`post hooks ${x.hooks.post.map(hook).join(', ')}`] : []),
    `rollback ${x.rollback}`,
  ].join('; ');
}

/**
 * A time as an operator of the policy reads it: in the policy's time zone, to the minute, with
 * the zone's abbreviation (issue #17: times were UTC though the policy said Europe/Berlin).
 * @example zoned('2026-12-12T01:00:00.000Z', 'Europe/Berlin') // '2026-12-12 02:00 CET'
 */
export function zoned(iso: string, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(iso));
  const p = (k: Intl.DateTimeFormatPartTypes): string => parts.find((x) => x.type === k)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')} ${p('timeZoneName')}`;
}

/** A host's packages grouped by the advisories that fix them: one line per advisory (set). */
function byAdvisory(packages: readonly PlannedPackage[]): string[] {
  const groups = new Map<string, PlannedPackage[]>();
  for (const p of packages) {
    const key = p.advisories.length === 0 ? '(no advisory)' : [...p.advisories].sort().join(', ');
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([adv, ps]) => `${adv}: ${ps.map((p) => `${p.name}→${p.to}`).join(' ')}`);
}

/**
 * The plan as `bulwark plan` prints it (issue #17): in the policy's time zone, one row per part of
 * a host's work — an emergency rule's packages now, outside windows, apart from the rest with the
 * window it waits for — then each part's packages grouped by advisory, which ring waits for which,
 * what is held, excluded or awaiting approval, the warnings (unreachable targets, predicted
 * breaches, unknown ring hosts) and the findings past their deadline.
 */
export function renderPlan(plan: PlanTimeline, policyVersion: number, soakHours: number): string {
  const tz = plan.timezone;
  const t = (iso: string): string => zoned(iso, tz);
  const lines = [`plan of ${plan.policy} v${String(policyVersion)} at ${t(plan.generatedAt)}; next monthly cycle ${t(plan.cycle.next)}; times in ${tz}`];
  const late: Record<string, string> = { start: ' (late)', finish: ' (at risk)' };
  const windowOf = (name: string | null, end: string | null): string => (name === null ? '-' : `${name}${end === null ? '' : ` until ${t(end)}`}`);
  const rows: string[][] = [];
  const work: string[] = [];
  for (const e of plan.entries) {
    const urgent = e.packages.filter((p) => p.emergency);
    const rest = e.packages.filter((p) => !p.emergency);
    const label = e.reasons.includes('monthly') ? 'monthly' : e.reasons.join(',');
    const common = (parts: readonly PlannedPackage[]): string[] => [
      e.approval,
      e.reboot ? 'yes' : 'no',
      `${plural(parts.length, 'package')}, ${plural(new Set(parts.flatMap((p) => p.advisories)).size, 'advisory', 'advisories')}`,
    ];
    // "≥": the earliest start — the ring waits for the previous ring's end, not known ahead.
    const start = `${e.after !== undefined ? '≥' : ''}${t(e.start)}`;
    if (e.emergency && urgent.length > 0) {
      rows.push([
        e.ring,
        e.target,
        'emergency',
        start,
        'none: at once, outside windows',
        `${t(e.deadline)}${late[e.predictedBreach ?? ''] ?? ''}`,
        ...common(urgent),
      ]);
      work.push(...byAdvisory(urgent).map((l) => `  ${e.target} emergency: ${l}`));
      if (rest.length > 0 && e.rest !== undefined) {
        rows.push([e.ring, e.target, label === '' ? 'rest' : label, `≥${t(e.rest.start)}`, windowOf(e.rest.window, e.rest.windowEnd), '-', ...common(rest)]);
        work.push(...byAdvisory(rest).map((l) => `  ${e.target} ${label === '' ? 'rest' : label}: ${l}`));
      }
      continue;
    }
    rows.push([
      e.ring,
      e.target,
      label,
      start,
      windowOf(e.window, e.windowEnd),
      `${t(e.deadline)}${late[e.predictedBreach ?? ''] ?? ''}`,
      ...common(e.packages),
    ]);
    work.push(...byAdvisory(e.packages).map((l) => `  ${e.target} ${label}: ${l}`));
  }
  if (rows.length === 0) lines.push('no host to patch');
  else lines.push(formatTable(['RING', 'HOST', 'PART', 'START', 'WINDOW', 'DEADLINE', 'APPROVAL', 'REBOOT', 'WORK'], rows).trimEnd());
  // Which ring each ring waits for, once per ring (and per kind: an emergency's soak is shortened).
  const waits = new Map<string, string>();
  for (const e of plan.entries) {
    if (e.after === undefined) continue;
    const when = `${e.after.soakHours > 0 ? `${hours(e.after.soakHours)} after` : 'when'} ring ${e.after.ring} ends${e.after.unfinished === true ? ' (it is still in a run not over: running, paused or halted)' : ''}`;
    const shortened = e.emergency && e.after.soakHours < soakHours ? ` (the policy's ${hours(soakHours)} soak, shortened to meet the deadline)` : '';
    const what = `ring ${e.ring}${e.emergency ? ' (emergency)' : ''}: starts ${when}${shortened}; ≥: the earliest, if ring ${e.after.ring} took no time`;
    waits.set(`${e.ring}:${String(e.emergency)}`, what);
  }
  lines.push(...[...waits.values()].map((w) => `  ${w}`));
  if (plan.safety !== undefined) lines.push(`  each host: ${safetyLine(plan.safety)}`);
  for (const e of plan.entries) {
    for (const h of e.held) lines.push(`  ${e.target}: held ${h.advisory} until ${t(h.until)}: ${h.reason}`);
    for (const x of e.excluded) lines.push(`  ${e.target}: not updating ${x.package}: ${x.why}`);
    if (e.awaitingApproval.length > 0)
      lines.push(`  ${e.target}: waits for approval of ${e.awaitingApproval.join(', ')} (bulwark approve --policy ${plan.policy} ADVISORY…)`);
  }
  if (work.length > 0) lines.push('packages by advisory:', ...work);
  const warnings = plan.warnings ?? [];
  if (warnings.length > 0) lines.push(`${plural(warnings.length, 'warning')}:`, ...warnings.map((w) => `  ${w.message}`));
  if (plan.breaches.length > 0) {
    const off = plan.breaches.filter((b) => b.unreachable === true).length;
    lines.push(
      `${plural(plan.breaches.length, 'finding')} past their deadline${off > 0 ? ` (${String(off)} on targets no run reaches, so in no plan)` : ''}:`,
      ...plan.breaches.slice(0, 20).map((b) => {
        // An out-of-band deadline counts from publication: a host first scanned long after it is
        // overdue from its first scan, which is why such figures can be years.
        const atFirstScan =
          Date.parse(b.firstSeen) > Date.parse(b.deadline) && b.publishedAt !== null
            ? `; already overdue when first seen on ${b.firstSeen.slice(0, 10)} (counted from its publication on ${b.publishedAt.slice(0, 10)})`
            : '';
        const noRun = b.unreachable === true ? '; unreachable: no address Bulwark reaches it by, no run patches it' : '';
        return `  ${b.target} ${b.advisory} ${b.package}: due ${t(b.deadline)}, ${overdue(b.overdueHours)}${atFirstScan}${noRun}`;
      }),
    );
  }
  if (plan.breaches.length > 20) lines.push(`  … and ${String(plan.breaches.length - 20)} more (--format json lists them all)`);
  return lines.join('\n') + '\n';
}

/** Soak hours as a person reads them: 24 h, 7.5 h. */
const hours = (h: number): string => `${String(Math.round(h * 10) / 10)} h`;

/**
 * How far past its deadline a finding is: hours for the first two days, then whole days
 * ("20222 h overdue" said 842 days in a unit nobody reads at that size).
 * @example overdue(36) // '36 h overdue'
 * @example overdue(20222) // '842 days overdue'
 */
export function overdue(h: number): string {
  return h < 48 ? `${String(h)} h overdue` : `${String(Math.floor(h / 24))} days overdue`;
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
