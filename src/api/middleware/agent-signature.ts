import type { Context } from 'hono';
import { verifyAgentRequest, type AgentRow } from '../../services/agents.js';
import type { NonceClaim } from '../../services/agent-nonce.js';
import { systemClock, type Db } from '../../services/store.js';
import type { Route } from '../routes/route.js';
import { bodyBytes } from './body.js';

/** The headers an enrolled agent signs its requests with (bulwark-agent.sh). */
export function signedHeaders(c: Context): { agentId: string | undefined; ts: string | undefined; nonce: string | undefined; signature: string | undefined } {
  return {
    agentId: c.req.header('x-bulwark-agent'),
    ts: c.req.header('x-bulwark-timestamp'),
    nonce: c.req.header('x-bulwark-nonce'),
    signature: c.req.header('x-bulwark-signature'),
  };
}

/**
 * Reads an agent route's body and checks its signature. The signature is over the bytes sent: a
 * report with a Latin-1 byte, or a task's output cut mid-character by head -c, is not valid
 * UTF-8, and decoding first changed what was hashed.
 */
export async function signedBody(
  db: Db,
  serverKey: Buffer,
  r: Route,
  c: Context,
  known: AgentRow | undefined,
): Promise<{ agent: AgentRow; nonce: NonceClaim; raw: Buffer; bodySha256: string }> {
  const raw = await bodyBytes(c);
  const v = await verifyAgentRequest(db, serverKey, { ...signedHeaders(c), method: r.method.toUpperCase(), path: c.req.path, body: raw }, systemClock, known);
  return { ...v, raw };
}
