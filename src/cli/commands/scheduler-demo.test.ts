import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';
import { runDemo } from '../../services/demo.js';
import { applyPolicyFile, makePlan } from '../../services/policies.js';
import { runTransport } from '../../services/run-transport.js';
import { listRuns } from '../../services/runs.js';
import { schedulerTick } from '../../services/scheduler.js';
import { openStore } from '../../services/store.js';

// The demo's critical golang advisory is long past a 24 h emergency rule's deadline: due at once, outside windows.
const POLICY =
  'apiVersion: bulwark/v1\nkind: Policy\nname: urgent\nscope: { hosts: [demo-azl3-vm] }\ncadence: { monthly: { weekday: tuesday, week: 2 } }\n' +
  'outOfBand:\n  - { name: critical-24h, match: { severity: [critical] }, deadlineHours: 24, emergency: true }\n' +
  'approval: { autoApproveAfterDays: 0 }\nrollout: { rings: [{ name: all, percent: 100 }] }\n';

describe('the scheduler on the demo store (`serve --demo`, issue #17 item 5)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli17-sched-demo-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const policy = join(dir, 'urgent.yaml');
  writeFileSync(policy, POLICY);

  it('never starts a run on the demo host, which has no address, and names it as skipped', async () => {
    const db = await openStore({ dbPath: join(dir, 'service.db') });
    try {
      await runDemo(db);
      await applyPolicyFile(db, policy);
      // Were it reachable, its emergency would be due now: the test could fail.
      const { plan } = await makePlan(db, 'urgent');
      expect(plan.entries.map((e) => [e.target, e.emergency, e.approval])).toEqual([['demo-azl3-vm', true, 'approved']]);
      // The transport `serve` gives its scheduler: hosts by their address.
      const transport = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, identityDir: null });
      expect(await schedulerTick(db, transport, { detach: true })).toEqual([{ policy: 'urgent', started: null, unreachable: ['demo-azl3-vm'] }]);
      expect(await listRuns(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('`bulwark scheduler --once` says which targets it skipped and why, and starts no run', async () => {
    const db = join(dir, 'cli.db');
    const env = { BULWARK_SSH_KEY_DIR: join(dir, 'keys') };
    const cli = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(['--db', db, ...args], env);
    expect((await cli('demo')).code).toBe(0);
    expect((await cli('policy', 'apply', '-f', policy)).code).toBe(0);
    const r = await cli('scheduler', '--once', '--known-hosts', join(dir, 'known_hosts'));
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toBe('scheduler: urgent: skipping demo-azl3-vm: no address Bulwark reaches them by (imported inventories)\n');
    const audit = JSON.parse((await cli('audit', '--json')).out) as { action: string }[];
    expect(audit.map((a) => a.action)).not.toContain('run.start');
    expect((await cli('run', 'show', '1')).err).toMatch(/no run 1/);
  });
});
