import { readFileSync } from 'node:fs';
import { isMap, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';

/**
 * Notification rules (issue #18 item 4), the `notify:` key of Bulwark's configuration file:
 * channels (where to send) and rules (which events go to which channels). Secrets are never
 * written in the file: a webhook's HMAC key and an SMTP password are read from environment
 * variables the file names (`secretEnv`, `passwordEnv`), so the file may be world-readable.
 *
 *   notify:
 *     channels:
 *       - { name: ops, type: webhook, url: https://hooks.example/bulwark, secretEnv: BULWARK_NOTIFY_OPS_SECRET }
 *       - { name: chat, type: slack, url: https://hooks.slack.com/services/T000/B000/XXXX }
 *       - { name: mail, type: email, smtp: { host: smtp.example, port: 587, tls: starttls }, from: bulwark@example.org, to: [secops@example.org] }
 *     rules:
 *       - { name: urgent, events: [finding.critical, finding.kev, sla.breach, run.halted], channels: [ops, chat, mail] }
 */
export const NOTIFY_EVENTS = [
  'finding.critical',
  'finding.kev',
  'sla.breach',
  'sla.predicted-breach',
  'run.halted',
  'host.failed',
  'feed.stale',
  'feed.failing',
  'agent.silent',
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-"');
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name such as BULWARK_NOTIFY_SECRET');
const httpUrl = z.url({ protocol: /^https?$/ }).describe('An http(s) URL.');
// Header injection: an address is one line without angle brackets.
const address = z.string().regex(/^[^\s<>@]+@[^\s<>@]+$/, 'an e-mail address such as secops@example.org');

export const WebhookChannel = z.strictObject({
  name,
  type: z.literal('webhook'),
  url: httpUrl,
  secretEnv: envName.describe('The environment variable holding the HMAC-SHA256 key; its signature is in X-Bulwark-Signature.'),
});
export const ChatChannel = z.strictObject({
  name,
  type: z.enum(['slack', 'teams']).describe('A Slack incoming webhook ({"text"}) or a Microsoft Teams one (a MessageCard).'),
  url: httpUrl,
});
export const EmailChannel = z.strictObject({
  name,
  type: z.literal('email'),
  smtp: z.strictObject({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(25),
    tls: z.enum(['none', 'starttls', 'implicit']).default('starttls').describe('none (a local relay), starttls, or implicit TLS (port 465).'),
    user: z.string().min(1).optional(),
    passwordEnv: envName.optional().describe('The environment variable holding the SMTP password (AUTH PLAIN).'),
    rejectUnauthorized: z.boolean().default(true),
  }),
  from: address,
  to: z.array(address).min(1),
});
export const NotifyChannel = z.discriminatedUnion('type', [WebhookChannel, ChatChannel, EmailChannel]);
export type NotifyChannel = z.infer<typeof NotifyChannel>;

export const notifyRulesSchema = z
  .strictObject({
    channels: z.array(NotifyChannel).default([]),
    rules: z
      .array(
        z.strictObject({
          name,
          events: z.array(z.enum(NOTIFY_EVENTS)).min(1),
          channels: z.array(name).min(1),
        }),
      )
      .default([]),
    /** How often the server looks for events and sends what is due. */
    intervalSeconds: z.number().min(0.2).max(3600).default(60),
    /** New findings and runs are noticed when they happened within this many hours (older history is not announced when notifications are first turned on). */
    lookbackHours: z
      .number()
      .positive()
      .max(24 * 90)
      .default(24),
    agentSilentHours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(50).default(8),
        backoffSeconds: z.number().min(0.05).max(86_400).default(30).describe('The first retry waits this long; each next one twice as long.'),
      })
      .default({ attempts: 8, backoffSeconds: 30 }),
  })
  .superRefine((n, ctx) => {
    const names = new Set<string>();
    for (const [i, c] of n.channels.entries()) {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `channel ${c.name} twice` });
      names.add(c.name);
    }
    for (const [i, r] of n.rules.entries())
      for (const [j, c] of r.channels.entries())
        if (!names.has(c))
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'channels', j], message: `no channel named ${c} (channels: ${[...names].join(', ') || 'none'})` });
  });
export type NotifyRules = z.infer<typeof notifyRulesSchema>;

/** The line (1-based) of the node at `path` in a YAML document, or of the nearest parent that exists. */
function lineOf(doc: ReturnType<typeof parseDocument>, text: string, path: readonly PropertyKey[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
    const offset = node?.range?.[0];
    if (offset !== undefined) return text.slice(0, offset).split('\n').length;
  }
  return null;
}

/**
 * Reads the `notify:` key of a YAML file (the configuration file, or a file of its own with
 * that one key) and validates it strictly; errors name the file and line.
 * @example const rules = loadNotifyFile('/etc/bulwark/bulwark.yaml')
 */
export function loadNotifyFile(file: string): NotifyRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BulwarkError('config.invalid', `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseNotifyText(text, file);
}

export function parseNotifyText(text: string, origin: string): NotifyRules {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new BulwarkError('config.invalid', `${origin}:${String(e?.linePos?.[0]?.line ?? '?')}: ${e?.message.split('\n')[0] ?? 'not YAML'}`);
  }
  if (!isMap(doc.contents) || !doc.has('notify')) throw new BulwarkError('config.invalid', `${origin}: no "notify:" key`);
  // An empty `notify:` is no rules.
  const r = notifyRulesSchema.safeParse((doc.toJS() as { notify: unknown }).notify ?? {});
  if (r.success) return r.data;
  const msgs = r.error.issues.slice(0, 5).map((i) => {
    const path = ['notify', ...i.path];
    return `${origin}:${String(lineOf(doc, text, path) ?? '?')}: notify.${i.path.map(String).join('.')}: ${i.message}`;
  });
  throw new BulwarkError('config.invalid', msgs.join('\n'), { file: origin });
}
