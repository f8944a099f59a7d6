import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Plan } from '../policy/plan.js';
import { createRun, executeRun, showRun, type RunTransport } from './runs.js';
import type { Db } from './store.js';

// The order and the skipping of safe-patching steps (issue #15), and the facts a precheck records,
// on both databases. The hosts are stand-ins that answer at once (the real dnf, sshd hosts,
// hooks, gates and rollbacks run in test/safety-e2e.test.ts and test/safety-kill.test.ts).
const plan = (safety: Plan['safety']): Plan => ({
  policy: 'p',
  generatedAt: '2026-11-24T00:00:00.000Z',
  cycle: { previous: null, next: '2026-12-15T00:00:00.000Z' },
  breaches: [],
  idle: [],
  entries: ['a', 'b'].map((t) => ({
    targetId: t,
    target: t,
    ring: 'all',
    ringIndex: 0,
    start: '2026-11-24T00:00:00.000Z',
    windowEnd: null,
    window: null,
    deadline: '2026-12-15T00:00:00.000Z',
    reasons: ['monthly'],
    emergency: false,
    approval: 'approved',
    awaitingApproval: [],
    packages: [{ name: 'curl', from: '0:8.8.0-1.azl3', to: '0:8.11.1-3.azl3', advisories: ['A'], emergency: false }],
    held: [],
    excluded: [],
    reboot: false,
  })),
  ...(safety !== undefined ? { safety } : {}),
});

/** Host `b`'s allow-listed drain check fails; everything else succeeds. */
const standIn = (calls: string[]): RunTransport => ({
  packageManager: () => Promise.resolve('dnf'),
  managerOptions: () => Promise.resolve({}),
  hookAllowList: () => ({ commands: { 'drain-check': { argv: ['drain-check', '{host}'], timeoutSeconds: 5 } }, http: {} }),
  exec: (id, argv) => {
    // The installed versions (what a precheck records for a rollback), as the dnf module reads them: the planned build once an update ran there.
    const mine = calls.filter((c) => c.startsWith(`${id} `));
    const installedOnce = mine.some((c) => c.includes(' -y install '));
    const updated = installedOnce && !mine.some((c) => c.includes(' history undo 5'));
    if (argv.includes('repoquery'))
      return Promise.resolve({ code: 0, stdout: argv.includes('--installed') ? `curl 0:${updated ? '8.11.1-3' : '8.8.0-1'}.azl3\n` : '', stderr: '' });
    calls.push(`${id} ${argv.join(' ')}`);
    if (argv.includes('history') && argv.includes('list'))
      return Promise.resolve({
        code: 0,
        stdout: `${installedOnce ? '    5 | -y install curl | 2026-11-02 10:00 | Upgrade | 1\n' : ''}    4 | install x | 2026-11-01 10:00 | Install | 1\n`,
        stderr: '',
      });
    if (argv.includes('drain-check')) return Promise.resolve({ code: id === 'b' ? 1 : 0, stdout: '', stderr: '' });
    return Promise.resolve({ code: 0, stdout: 'Nothing to do.', stderr: '' });
  },
  reboot: () => Promise.resolve({ code: 0, stdout: '', stderr: '' }),
  rescan: () => Promise.resolve({ code: 0, stdout: '', stderr: '' }),
});

describe.each(testDatabases())('safe-patching steps on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('a failing pre hook skips its host, with no rollback (nothing changed); the precheck records the versions and history before', async () => {
    const pk = await createRun(
      db,
      'p',
      plan({
        hooks: { pre: [{ command: 'drain-check' }], post: [] },
        gates: [{ tcp: 1, withinSeconds: 0 }],
        rollback: 'on-failure',
        restart: 'none',
        reboot: 'never',
      }),
      null,
      { failureThreshold: 1, maxConcurrency: 1 },
    );
    const calls: string[] = [];
    // Port 1 on the hosts' "address" (their names: the stand-in has none) is closed: a's gate fails after its update.
    const r = await executeRun(db, pk, { ...standIn(calls), address: () => Promise.resolve('127.0.0.1') });
    const steps = (await showRun(db, pk)).steps;
    expect(steps.map((s) => `${s.targetName}:${s.kind}:${s.state}`)).toEqual([
      'a:precheck:done',
      'a:hook:done',
      'a:update:done',
      'a:gate:failed',
      'a:rescan:skipped',
      'a:rollback:done',
      'b:precheck:done',
      'b:hook:failed',
      'b:update:skipped',
      'b:gate:skipped',
      'b:rescan:skipped',
      'b:rollback:skipped',
    ]);
    expect(r.failedHosts).toEqual(['a', 'b']);
    expect(steps.find((s) => s.targetName === 'b' && s.kind === 'rollback')?.output).toBe('skipped: hook failed before the update, nothing changed');
    expect(steps.find((s) => s.targetName === 'b' && s.kind === 'precheck')?.facts).toEqual({ before: { curl: ['0:8.8.0-1.azl3'] }, historyLast: 4 });
    // b's packages were never touched; a's rollback undid the update's transaction (5, after the recorded 4) and checked the version.
    expect(calls.filter((c) => c.startsWith('b ') && c.includes(' install '))).toEqual(['b dnf --assumeno install curl-0:8.11.1-3.azl3']);
    expect(calls).toContain('a timeout -k 10 5 drain-check a');
    expect(steps.find((s) => s.targetName === 'a' && s.kind === 'rollback')?.output).toMatch(
      /^dnf history undo 5: exit 0\n[\s\S]*verified: curl 0:8\.8\.0-1\.azl3/,
    );
  });

  it('with no failure the rollback is skipped as not needed, and a plan without safety makes no extra steps', async () => {
    const pk = await createRun(
      db,
      'p',
      plan({ hooks: { pre: [], post: [{ command: 'drain-check' }] }, gates: [], rollback: 'on-failure', restart: 'none', reboot: 'never' }),
      null,
      {
        failureThreshold: 1,
        maxConcurrency: 1,
      },
    );
    const calls: string[] = [];
    const t = standIn(calls);
    await executeRun(db, pk, { ...t, exec: (id, argv) => t.exec(id === 'b' ? 'a' : id, argv) });
    const steps = (await showRun(db, pk)).steps;
    expect(steps.filter((s) => s.targetName === 'a').map((s) => `${s.kind}:${s.state}`)).toEqual([
      'precheck:done',
      'update:done',
      'hook:done',
      'rescan:done',
      'rollback:skipped',
    ]);
    expect(steps.find((s) => s.kind === 'rollback')?.output).toBe('skipped: not needed, every step succeeded');
    const plain = await createRun(
      db,
      'q',
      { ...plan(undefined), policy: 'q', entries: plan(undefined).entries.map((e) => ({ ...e, targetId: `${e.targetId}2` })) },
      null,
      {
        failureThreshold: 1,
        maxConcurrency: 1,
      },
    );
    expect((await showRun(db, plain)).steps.map((s) => s.kind)).toEqual(['precheck', 'update', 'rescan', 'precheck', 'update', 'rescan']);
  });
});
