import { createHmac } from 'node:crypto';
import { BulwarkError } from '../core/errors.js';
import type { NotifyChannel } from './schema.js';
import { sendMail } from './smtp.js';

/**
 * One event as the channels render it: what happened, in words and as data. It is built from the
 * store (hosts, advisories, runs, feeds) and never carries a secret: channel keys and passwords
 * go into headers and the SMTP session only.
 */
export interface NotifyEvent {
  id: number;
  key: string;
  kind: string;
  createdAt: string;
  title: string;
  text: string;
  data: Record<string, unknown>;
}

/** HMAC-SHA256 over `${timestamp}.${body}`, hex, as X-Bulwark-Signature carries it (`sha256=…`). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The JSON body each kind of channel gets. */
export function payloadFor(type: NotifyChannel['type'], e: NotifyEvent): string {
  if (type === 'slack') return JSON.stringify({ text: `*${e.title}*\n${e.text}` });
  if (type === 'teams')
    return JSON.stringify({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      summary: e.title,
      themeColor: e.kind.startsWith('finding.') || e.kind === 'sla.breach' || e.kind === 'run.halted' ? 'C62828' : 'F9A825',
      title: e.title,
      text: e.text,
    });
  return JSON.stringify({ id: e.id, key: e.key, kind: e.kind, createdAt: e.createdAt, title: e.title, text: e.text, data: e.data });
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
  let r: Response;
  try {
    r = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'bulwark-notify', ...headers },
      signal: AbortSignal.timeout(15_000),
      redirect: 'error',
    });
  } catch (err) {
    throw new BulwarkError('target.unreachable', `POST ${new URL(url).origin}: ${(err as Error).message}`);
  }
  await r.body?.cancel();
  if (r.status < 200 || r.status > 299) throw new BulwarkError('target.unreachable', `POST ${new URL(url).origin}: HTTP ${String(r.status)}`);
}

/**
 * Sends one event to one channel; throws on any failure (the caller retries with backoff).
 * `env` holds the secrets the channel names.
 */
export async function sendToChannel(ch: NotifyChannel, e: NotifyEvent, env: NodeJS.ProcessEnv, now: Date = new Date()): Promise<void> {
  if (ch.type === 'email') {
    const password = ch.smtp.passwordEnv === undefined ? undefined : env[ch.smtp.passwordEnv];
    if (ch.smtp.passwordEnv !== undefined && password === undefined)
      throw new BulwarkError('config.invalid', `channel ${ch.name}: ${ch.smtp.passwordEnv} is not set`);
    await sendMail(
      { host: ch.smtp.host, port: ch.smtp.port, tls: ch.smtp.tls, user: ch.smtp.user, password, rejectUnauthorized: ch.smtp.rejectUnauthorized },
      { from: ch.from, to: ch.to, subject: `[Bulwark] ${e.title}`, text: `${e.text}\n\nevent ${e.key} (${e.kind}) at ${e.createdAt}\n` },
    );
    return;
  }
  const body = payloadFor(ch.type, e);
  if (ch.type === 'webhook') {
    const secret = env[ch.secretEnv];
    if (secret === undefined || secret === '') throw new BulwarkError('config.invalid', `channel ${ch.name}: ${ch.secretEnv} is not set`);
    const ts = String(Math.floor(now.getTime() / 1000));
    await post(ch.url, body, {
      'X-Bulwark-Event': e.kind,
      'X-Bulwark-Delivery': e.key,
      'X-Bulwark-Timestamp': ts,
      'X-Bulwark-Signature': signature(secret, ts, body),
    });
  } else await post(ch.url, body, {});
}
