import { createEnrollmentToken, enrollAgent } from '../src/services/agents.js';
import type { Db } from '../src/services/store.js';
import { getAgent, type AgentRow } from '../src/storage/index.js';

/**
 * An agent enrolled with a fresh one-hour token under `key` (the server's agent key), as its row:
 * what tests of agent reports start from.
 * @example const a = await enrolledAgent(db, randomBytes(32), 'host-1'); await acceptAgentReport(db, a, text)
 */
export async function enrolledAgent(db: Db, key: Buffer, hostname: string): Promise<AgentRow> {
  const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'test' } });
  const a = await getAgent(db, (await enrollAgent(db, key, { token, hostname })).agentId);
  if (a === null) throw new Error(`no agent row for ${hostname}`);
  return a;
}
