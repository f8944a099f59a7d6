import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { getAgent, insertAgent, insertAgentTask } from '../storage/index.js';
import { acceptTaskResult, nextTaskText, runAgentTask } from './agents.js';
import { storeInventory } from './inventory.js';
import type { Db } from './store.js';

/**
 * Tasks for agent hosts that the server stopped waiting for are withdrawn, on both databases: an
 * agent that polls later must never run an update outside its step (and its window).
 */
describe.each(testDatabases())('agent tasks on $name', ({ open }) => {
  let db: Db;
  let targetId = '';
  beforeEach(async () => {
    db = await open();
    const r = await storeInventory(db, { name: 'edge-1', release: 'azurelinux:3.0', kind: 'host', platform: null }, [], () => new Date());
    targetId = r.target.id;
    await insertAgent(db, { id: 'agent-1', targetId, hostname: 'edge-1', enrolledAt: new Date().toISOString() });
  });
  afterEach(async () => {
    await db.close();
  });
  const agent = async () => {
    const a = await getAgent(db, 'agent-1');
    if (a === null) throw new Error('no agent');
    return a;
  };

  it('withdraws a task whose waiter gave up: the agent never gets it', async () => {
    const r = await runAgentTask(db, targetId, 'exec', ['dnf', '-y', 'install', 'bw-openssl-1:3.3.5-5.azl3'], { timeoutMs: 150, pollMs: 20 });
    expect([r.code, r.stderr]).toEqual([null, expect.stringMatching(/did not answer task \d+ within 0 s; the task is withdrawn/)]);
    expect(await nextTaskText(db, await agent())).toBe('none\n');
  });

  it('withdraws a task a dead process left unsent when the same step is queued again, and runs only the new one', async () => {
    const stale = await insertAgentTask(db, { agentId: 'agent-1', kind: 'exec', argv: ['dnf', '-y', 'install', 'new'], now: new Date().toISOString() });
    // Another command queued meanwhile (a scan's report) is not the same step: it stays.
    const report = await insertAgentTask(db, { agentId: 'agent-1', kind: 'report', argv: [], now: new Date().toISOString() });
    const waiting = runAgentTask(db, targetId, 'exec', ['dnf', '-y', 'install', 'new'], { timeoutMs: 10_000, pollMs: 20 });
    let text = 'none\n';
    for (let i = 0; i < 100 && (text === 'none\n' || text.startsWith(`task ${String(report)} `)); i++) {
      await new Promise((res) => setTimeout(res, 20));
      text = await nextTaskText(db, await agent());
      if (text.startsWith(`task ${String(report)} `)) await acceptTaskResult(db, await agent(), report, 'exit=0\nreported\n');
    }
    expect(text).toMatch(/^task (\d+) exec\narg dnf\narg -y\narg install\narg new\nend\n$/);
    expect(text).not.toMatch(new RegExp(`^task ${String(stale)} `));
    await acceptTaskResult(db, await agent(), Number(/^task (\d+)/.exec(text)?.[1]), 'exit=0\ninstalled\n');
    expect(await waiting).toEqual({ code: 0, stdout: 'installed\n', stderr: '' });
    expect(await nextTaskText(db, await agent())).toBe('none\n');
  });
});
