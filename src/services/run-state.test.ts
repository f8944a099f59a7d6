import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Plan } from '../policy/plan.js';
import { managerFor } from './run-transport.js';
import { createRun, executeRun, PROCESS_ID, setRunState, showRun, type RunTransport } from './runs.js';
import { join } from 'node:path';
import { runPolicyNow, schedulerTick } from './scheduler.js';
import { DEMO_DIR, runDemo } from './demo.js';
import { importRpmQaFile } from './inventory.js';
import { applyPolicyText, makePlan } from './policies.js';
import { scanTarget } from './scan.js';
import { soakFor } from '../policy/plan.js';
import type { Db } from './store.js';
import { markStepEnded, markStepStarted, releaseLease, ringHistory, tryLease } from '../storage/index.js';

// The run state machine on both databases. The hosts here are stand-ins that succeed at once
// (the real dnf runs in runs.test.ts); what is tested is the journal and the states.
const plan: Plan = {
  policy: 'p',
  generatedAt: '2026-11-24T00:00:00.000Z',
  cycle: { previous: null, next: '2026-12-15T00:00:00.000Z' },
  breaches: [],
  idle: [],
  entries: ['a', 'b', 'c'].map((t, i) => ({
    targetId: t,
    target: t,
    ring: i === 0 ? 'canary' : 'rest',
    ringIndex: i === 0 ? 0 : 1,
    start: '2026-11-24T00:00:00.000Z',
    windowEnd: null,
    window: null,
    deadline: '2026-12-15T00:00:00.000Z',
    reasons: ['monthly'],
    emergency: false,
    approval: t === 'c' ? 'pending' : 'approved',
    awaitingApproval: [],
    packages: [{ name: 'curl', from: '0:8.8.0-1.azl3', to: '0:8.11.1-3.azl3', advisories: ['A'], emergency: false }],
    held: [],
    excluded: [],
    reboot: false,
  })),
};

const ok = { code: 0, stdout: 'Nothing to do.', stderr: '' };
const standIn = (calls: string[], onCall?: () => Promise<void>): RunTransport => ({
  packageManager: () => Promise.resolve('dnf'),
  managerOptions: () => Promise.resolve({}),
  exec: async (id, argv) => {
    // The queries of what is installed and offered (dnf repoquery) change nothing: not counted.
    if (argv.includes('repoquery')) return { code: 0, stdout: '', stderr: '' };
    calls.push(`${id} ${argv[1] ?? ''}`);
    await onCall?.();
    return ok;
  },
  reboot: () => Promise.resolve(ok),
  rescan: (id) => {
    calls.push(`${id} rescan`);
    return Promise.resolve(ok);
  },
});

describe.each(testDatabases())('run states on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('runs only approved hosts, canary ring first; pause stops before the next step, resume finishes, cancel is final', async () => {
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1 });
    expect((await showRun(db, pk)).steps.map((s) => `${s.targetName}:${s.kind}`)).toEqual([
      'a:precheck',
      'a:update',
      'a:rescan',
      'b:precheck',
      'b:update',
      'b:rescan',
    ]);
    const calls: string[] = [];
    // Pause from "outside" after the first command.
    const r1 = await executeRun(
      db,
      pk,
      standIn(calls, async () => {
        if (calls.length === 1) await setRunState(db, pk, 'pause');
      }),
    );
    expect(r1.run.status).toBe('paused');
    expect(r1.steps.filter((s) => s.state === 'done').map((s) => s.kind)).toEqual(['precheck']);
    await expect(setRunState(db, pk, 'pause')).rejects.toThrow(/is paused: cannot pause/);
    await setRunState(db, pk, 'resume');
    const r2 = await executeRun(db, pk, standIn(calls));
    expect(r2.run.status).toBe('done');
    expect(calls).toEqual(['a --assumeno', 'a -y', 'a rescan', 'b --assumeno', 'b -y', 'b rescan']);
    expect(r2.steps.every((s) => s.attempts === 1 && s.state === 'done')).toBe(true);
    await expect(setRunState(db, pk, 'cancel')).rejects.toThrow(/is done: cannot cancel/);
    const pk2 = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1 });
    await setRunState(db, pk2, 'cancel');
    expect((await executeRun(db, pk2, standIn([]))).run.status).toBe('cancelled');
    await expect(setRunState(db, pk2, 'resume')).rejects.toThrow(/is cancelled: cannot resume/);
  });

  it('waits out the soak between rings (status waiting), and goes on when its time has come', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = (): Date => new Date(now);
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1, soakHours: 24 }, clock);
    const calls: string[] = [];
    const r1 = await executeRun(db, pk, standIn(calls), clock);
    expect(r1.run).toMatchObject({ status: 'waiting', resumeAt: '2026-11-25T10:00:00.000Z' });
    expect(r1.run.note).toMatch(/ring 1 starts after the soak/);
    expect(calls).toEqual(['a --assumeno', 'a -y', 'a rescan']);
    now = Date.parse('2026-11-25T09:59:00Z');
    expect((await executeRun(db, pk, standIn(calls), clock)).run.status).toBe('waiting');
    expect(calls).toHaveLength(3);
    now = Date.parse('2026-11-25T10:00:00Z');
    const r3 = await executeRun(db, pk, standIn(calls), clock);
    expect(r3.run.status).toBe('done');
    expect(calls.slice(3)).toEqual(['b --assumeno', 'b -y', 'b rescan']);
  });

  it('counts the soak from the end of the previous ring, not its start: a ring that takes hours does not eat the soak', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = (): Date => new Date(now);
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1, soakHours: 24 }, clock);
    const calls: string[] = [];
    // Each package command of the canary takes an hour: its precheck and update end at 12:00.
    const slow = standIn(calls, () => {
      now += 3_600_000;
      return Promise.resolve();
    });
    const r1 = await executeRun(db, pk, slow, clock);
    expect(r1.run).toMatchObject({ status: 'waiting', resumeAt: '2026-11-25T12:00:00.000Z' });
    // What plans read across runs: the canary's end, and the rest still to do in a run not over.
    expect(await ringHistory(db, 'p')).toEqual(
      new Map([
        [0, { ended: '2026-11-24T12:00:00.000Z', open: false }],
        [1, { ended: null, open: true }],
      ]),
    );
    // 24 h after the canary started, the rest still waits (and a resumed process sees the same end).
    now = Date.parse('2026-11-25T10:00:00Z');
    expect((await executeRun(db, pk, slow, clock)).run).toMatchObject({ status: 'waiting', resumeAt: '2026-11-25T12:00:00.000Z' });
    expect(calls).toEqual(['a --assumeno', 'a -y', 'a rescan']);
    now = Date.parse('2026-11-25T12:00:00Z');
    expect((await executeRun(db, pk, slow, clock)).run.status).toBe('done');
    expect(calls.slice(3)).toEqual(['b --assumeno', 'b -y', 'b rescan']);
    expect(await ringHistory(db, 'p')).toEqual(
      new Map([
        [0, { ended: '2026-11-24T12:00:00.000Z', open: false }],
        [1, { ended: '2026-11-25T14:00:00.000Z', open: false }],
      ]),
    );
  });

  it('a run started by hand keeps an emergency to the soak its plan shows: shortened to meet the deadline', async () => {
    // The demo's critical golang advisory was published 2024-10-01T00:00Z (24 h rule): at noon,
    // 12 h are left for two rings, so 6 h of soak, not the policy's 48.
    const clock = (): Date => new Date('2024-10-01T12:00:00Z');
    await runDemo(db, { clock });
    await importRpmQaFile(db, { name: 'demo-2', release: 'azurelinux:3.0', file: join(DEMO_DIR, 'inventory.tsv'), platform: 'vm' }, clock);
    await scanTarget(db, 'demo-2', clock);
    await applyPolicyText(
      db,
      'apiVersion: bulwark/v1\nkind: Policy\nname: urgent\ncadence: { monthly: { weekday: tuesday, week: 2 } }\noutOfBand:\n  - { name: critical-24h, match: { severity: [critical] }, deadlineHours: 24, emergency: true }\nrollout:\n  rings: [{ name: canary, hosts: [demo-azl3-vm] }, { name: rest, percent: 100 }]\n  soakHours: 48\nreboot: never\n',
      'urgent.yaml',
      undefined,
      { clock },
    );
    const { plan } = await makePlan(db, 'urgent', { clock });
    expect(plan.entries.map((e) => [e.target, e.start, e.after ?? null])).toEqual([
      ['demo-azl3-vm', '2024-10-01T12:00:00.000Z', null],
      ['demo-2', '2024-10-01T18:00:00.000Z', { ring: 'canary', soakHours: 6 }],
    ]);
    const { report } = await runPolicyNow(db, 'urgent', standIn([]), { actor: { kind: 'cli', name: 'test' }, clock });
    expect(report?.run).toMatchObject({ status: 'waiting', resumeAt: '2024-10-01T18:00:00.000Z' });
  });

  it('the scheduler starts no later ring while the ring before it is unfinished in a run (paused, halted), even with no soak', async () => {
    const clock = (): Date => new Date('2026-11-24T12:00:00Z');
    await runDemo(db, { clock });
    await importRpmQaFile(db, { name: 'demo-2', release: 'azurelinux:3.0', file: join(DEMO_DIR, 'inventory.tsv'), platform: 'vm' }, clock);
    await scanTarget(db, 'demo-2', clock);
    await applyPolicyText(
      db,
      'apiVersion: bulwark/v1\nkind: Policy\nname: held\ncadence: { monthly: { weekday: tuesday, week: 2 } }\nrollout:\n  rings: [{ name: canary, hosts: [demo-azl3-vm] }, { name: rest, percent: 100 }]\n  soakHours: 0\nreboot: never\n',
      'held.yaml',
      undefined,
      { clock },
    );
    // The canary's run, paused before it began.
    const { plan } = await makePlan(db, 'held', { clock });
    const canary = await createRun(
      db,
      'held',
      { ...plan, entries: plan.entries.filter((e) => e.ring === 'canary') },
      null,
      { failureThreshold: 0, maxConcurrency: 1 },
      clock,
    );
    await setRunState(db, canary, 'pause', undefined, clock);
    await releaseLease(db, `run:${String(canary)}`, PROCESS_ID);
    const calls: string[] = [];
    expect(await schedulerTick(db, standIn(calls), { clock })).toEqual([{ policy: 'held', started: null }]);
    expect(calls).toEqual([]);
    // Cancelled: the canary's run is over; both go in a new run, canary first.
    await setRunState(db, canary, 'cancel', undefined, clock);
    const [t] = await schedulerTick(db, standIn(calls), { clock });
    expect(t?.started?.hosts).toEqual(['demo-azl3-vm', 'demo-2']);
  });

  it('lets the scheduler resume a run whose soak is over', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = (): Date => new Date(now);
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1, soakHours: 1 }, clock);
    await executeRun(db, pk, standIn([]), clock);
    expect(await schedulerTick(db, standIn([]), { clock })).toEqual([]);
    now += 3_600_000;
    const [t] = await schedulerTick(db, standIn([]), { clock });
    expect(t?.report?.run.status).toBe('done');
    expect(t?.started?.run).toBe(pk);
  });

  it('keeps each host to its maintenance window: waits for it to open, and leaves a host not begun once it has closed', async () => {
    const windowed: Plan = {
      ...plan,
      entries: plan.entries.map((e) => ({ ...e, window: 'weekend', start: '2026-11-28T01:00:00.000Z', windowEnd: '2026-11-28T05:00:00.000Z' })),
    };
    let now = Date.parse('2026-11-24T12:00:00Z');
    const clock = (): Date => new Date(now);
    const calls: string[] = [];
    const pk = await createRun(db, 'p', windowed, null, { failureThreshold: 0, maxConcurrency: 1 }, clock);
    expect((await executeRun(db, pk, standIn(calls), clock)).run).toMatchObject({ status: 'waiting', resumeAt: '2026-11-28T01:00:00.000Z' });
    expect(calls).toEqual([]);
    now = Date.parse('2026-11-28T02:00:00Z');
    expect((await executeRun(db, pk, standIn(calls), clock)).run.status).toBe('done');
    expect(calls).toEqual(['a --assumeno', 'a -y', 'a rescan', 'b --assumeno', 'b -y', 'b rescan']);
    // Started after the window closed: nothing runs, each host says why.
    now = Date.parse('2026-11-28T06:00:00Z');
    const late = await executeRun(db, await createRun(db, 'p', windowed, null, { failureThreshold: 0, maxConcurrency: 1 }, clock), standIn(calls), clock);
    expect(late.run.status).toBe('done');
    expect(calls).toHaveLength(6);
    expect(late.steps.every((s) => s.state === 'skipped' && /the maintenance window ended at 2026-11-28T05:00:00\.000Z/.test(s.output ?? ''))).toBe(true);
    // `run --policy --ignore-windows`: at once.
    now = Date.parse('2026-11-24T12:00:00Z');
    expect(
      (
        await executeRun(
          db,
          await createRun(db, 'p', windowed, null, { failureThreshold: 0, maxConcurrency: 1, ignoreWindows: true }, clock),
          standIn(calls),
          clock,
        )
      ).run.status,
    ).toBe('done');
    expect(calls).toHaveLength(12);
  });

  it('begins no more hosts of a ring once its failures pass the threshold', async () => {
    const four: Plan = {
      ...plan,
      entries: ['w', 'x', 'y', 'z'].map((t) => ({ ...(plan.entries[0] as Plan['entries'][number]), targetId: t, target: t, ring: 'all', ringIndex: 0 })),
    };
    const calls: string[] = [];
    const failing: RunTransport = {
      ...standIn(calls),
      exec: async (id, argv) =>
        id === 'w' && argv.includes('--assumeno') ? { code: 1, stdout: 'Error: the repository is gone', stderr: '' } : standIn(calls).exec(id, argv),
    };
    const r = await executeRun(db, await createRun(db, 'p', four, null, { failureThreshold: 0.2, maxConcurrency: 1 }), failing);
    // 1 of 4 failed (0.25 > 0.2): x, y and z are never begun.
    expect([r.run.status, r.run.note]).toEqual(['halted', 'ring 0: 1 of 4 hosts failed (threshold 0.2)']);
    expect(calls).toEqual([]);
    expect(r.steps.filter((s) => s.targetName !== 'w').every((s) => s.state === 'pending')).toBe(true);
  });

  it('tells the transport when a reboot step found begun was begun, so a host booted since is not rebooted again', async () => {
    const one: Plan = { ...plan, entries: [{ ...(plan.entries[0] as Plan['entries'][number]), reboot: true }] };
    const pk = await createRun(db, 'p', one, null, { failureThreshold: 0, maxConcurrency: 1 });
    const reboot = (await showRun(db, pk)).steps.find((s) => s.kind === 'reboot');
    // A process died during the reboot: the step is journaled as started.
    for (const s of (await showRun(db, pk)).steps.filter((x) => x.seq < (reboot?.seq ?? 0)))
      await markStepEnded(db, s.pk, 'done', '2026-11-24T10:00:00.000Z', 0, '');
    await markStepStarted(db, reboot?.pk ?? 0, '2026-11-24T10:05:00.000Z');
    const seen: (string | undefined)[] = [];
    const t: RunTransport = {
      ...standIn([]),
      reboot: (_id, o) => {
        seen.push(o?.since);
        return Promise.resolve(ok);
      },
    };
    expect((await executeRun(db, pk, t)).run.status).toBe('done');
    expect(seen).toEqual([new Date('2026-11-24T10:05:00.000Z').toISOString()]);
  });

  it('never puts a host in two runs: of two runs created at once, one is refused', async () => {
    const both = await Promise.allSettled([
      createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1 }),
      createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1 }),
    ]);
    expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((both.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(
      /a \(in run \d+, running\), b \(in run \d+, running\): already in a run that is not over/,
    );
  });

  it('keeps the scheduler lease while a pass waits for its runs, past the lease time', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = (): Date => new Date(now);
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1, soakHours: 1 }, clock);
    await executeRun(db, pk, standIn([]), clock);
    now += 3_600_000;
    // Each command takes 400 ms: the pass lasts well over the 300 ms lease.
    const slow = standIn([], () => new Promise((r) => setTimeout(r, 400)));
    const started = Date.now();
    const state: { over: boolean } = { over: false };
    const pass = schedulerTick(db, slow, { clock, holder: 'scheduler-a', leaseTtlMs: 300 }).finally(() => {
      state.over = true;
    });
    const isOver = (): boolean => state.over;
    const others: { at: number; took: boolean }[] = [];
    while (!state.over) {
      await new Promise((r) => setTimeout(r, 100));
      const took = await tryLease(db, 'scheduler', 'scheduler-b', new Date().toISOString(), new Date(Date.now() + 300).toISOString());
      // A look after the pass ended may rightly take it: only looks during the pass count.
      others.push({ at: Date.now() - started, took: took && !isOver() });
    }
    const [t] = await pass;
    expect(t?.report?.run.status).toBe('done');
    expect(others.filter((o) => o.at > 400).length).toBeGreaterThan(2);
    expect(others.filter((o) => o.took)).toEqual([]);
  });

  it('writes nothing to the journal once another process has taken the run over', async () => {
    const pk = await createRun(db, 'p', plan, null, { failureThreshold: 0, maxConcurrency: 1, holder: 'stalled' });
    const calls: string[] = [];
    // During its first command this process stalls past its lease and another takes the run.
    const t = standIn(calls, async () => {
      if (calls.length !== 1) return;
      await releaseLease(db, `run:${String(pk)}`, 'stalled');
      await tryLease(db, `run:${String(pk)}`, 'successor', new Date().toISOString(), new Date(Date.now() + 60_000).toISOString());
    });
    const r = await executeRun(db, pk, t, undefined, { lease: { holder: 'stalled', waitMs: 0 } });
    // The step it was running stays as the journal had it (started), for the successor; nothing after it ran.
    expect(r.steps.map((s) => `${s.targetName}:${s.kind}:${s.state}`)).toEqual([
      'a:precheck:started',
      'a:update:pending',
      'a:rescan:pending',
      'b:precheck:pending',
      'b:update:pending',
      'b:rescan:pending',
    ]);
    expect(r.run.status).toBe('running');
    expect(calls).toEqual(['a --assumeno']);
  });

  it('refuses a plan with no approved host', async () => {
    await expect(
      createRun(db, 'p', { ...plan, entries: plan.entries.filter((e) => e.approval !== 'approved') }, null, { failureThreshold: 0, maxConcurrency: 1 }),
    ).rejects.toThrow(/no approved host/);
  });
});

describe('package manager per release', () => {
  it.each([
    ['azurelinux:3.0', 'tdnf'],
    ['azurelinux:4.0', 'dnf5'],
    ['mariner:2.0', 'tdnf'],
    ['fedora:40', 'dnf'],
    ['fedora:41', 'dnf5'],
    ['almalinux:9', 'dnf'],
    ['ubuntu:24.04', 'apt'],
  ])('%s → %s', (r, pm) => {
    expect(managerFor(r)).toBe(pm);
  });
});

describe('the soak of an emergency run', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const entry = (ring: number, emergency: boolean, deadline: string): Plan['entries'][number] => ({
    ...(plan.entries[0] as Plan['entries'][number]),
    ringIndex: ring,
    emergency,
    deadline,
  });
  it('is shortened so that every ring starts well before the earliest deadline, and kept for other runs', () => {
    // 24 h left, two rings: one gap, the last ring's own work — 12 h each, not the policy's 48.
    expect(soakFor([entry(0, true, '2026-11-25T12:00:00Z'), entry(1, true, '2026-11-25T12:00:00Z')], 48, now)).toBe(12);
    // Three rings: 8 h.
    expect(soakFor([entry(0, true, '2026-11-25T12:00:00Z'), entry(1, false, '2026-12-15T00:00:00Z'), entry(2, true, '2026-11-26T12:00:00Z')], 48, now)).toBe(8);
    // A short policy soak stays as it is; a deadline already passed leaves none.
    expect(soakFor([entry(0, true, '2026-11-25T12:00:00Z'), entry(1, true, '2026-11-25T12:00:00Z')], 2, now)).toBe(2);
    expect(soakFor([entry(0, true, '2026-11-24T00:00:00Z'), entry(1, true, '2026-11-24T00:00:00Z')], 48, now)).toBe(0);
    // Monthly work, or one ring: the policy's soak.
    expect(soakFor([entry(0, false, '2026-12-15T00:00:00Z'), entry(1, false, '2026-12-15T00:00:00Z')], 48, now)).toBe(48);
    expect(soakFor([entry(0, true, '2026-11-25T12:00:00Z')], 48, now)).toBe(48);
  });
});
