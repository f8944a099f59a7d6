import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { BulwarkError } from '../core/errors.js';

/**
 * A small SMTP client (RFC 5321) for notification e-mail: EHLO, STARTTLS (RFC 3207) or implicit
 * TLS, AUTH PLAIN (RFC 4616) when a user is given, one message to its recipients, QUIT. No
 * dependency: node:net and node:tls. Header values and addresses are refused when they hold a
 * line break (header injection); body lines starting with "." are dot-stuffed (RFC 5321 4.5.2).
 */
export interface SmtpOptions {
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  user?: string | undefined;
  password?: string | undefined;
  rejectUnauthorized?: boolean;
  /** The name given in EHLO (default: bulwark.invalid). */
  helo?: string;
  timeoutMs?: number;
}

export interface MailMessage {
  from: string;
  to: readonly string[];
  subject: string;
  text: string;
}

class Conversation {
  private buf = '';
  private waiting: ((line: string) => void) | null = null;
  private failed: Error | null = null;
  private lines: string[] = [];

  constructor(private sock: Socket | TLSSocket) {
    this.attach(sock);
  }

  attach(sock: Socket | TLSSocket): void {
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) !== -1) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      this.pump();
    });
    sock.on('error', (err: Error) => {
      this.failed = err;
      this.pump();
    });
    sock.on('close', () => {
      this.failed ??= new Error('the SMTP server closed the connection');
      this.pump();
    });
  }

  detach(): Socket | TLSSocket {
    this.sock.removeAllListeners('data');
    this.sock.removeAllListeners('error');
    this.sock.removeAllListeners('close');
    return this.sock;
  }

  private pump(): void {
    if (this.waiting === null) return;
    const line = this.lines.shift();
    if (line !== undefined) {
      const w = this.waiting;
      this.waiting = null;
      w(line);
    } else if (this.failed !== null) {
      const w = this.waiting;
      this.waiting = null;
      w(`000 ${this.failed.message}`);
    }
  }

  private line(): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.pump();
    });
  }

  /** One reply, multi-line ones joined: its code and text. */
  async reply(): Promise<{ code: number; text: string }> {
    const texts: string[] = [];
    for (;;) {
      const l = await this.line();
      const m = /^(\d{3})([ -])(.*)$/.exec(l);
      if (m === null) throw new BulwarkError('target.unreachable', `SMTP: not a reply: "${l.slice(0, 200)}"`);
      texts.push(m[3] ?? '');
      if (m[2] === ' ') return { code: Number(m[1]), text: texts.join('\n') };
    }
  }

  async command(cmd: string, expect: readonly number[], shown = cmd): Promise<{ code: number; text: string }> {
    this.sock.write(`${cmd}\r\n`);
    const r = await this.reply();
    if (!expect.includes(r.code)) throw new BulwarkError('target.unreachable', `SMTP: ${shown} → ${String(r.code)} ${r.text.slice(0, 300)}`);
    return r;
  }
}

function oneLine(what: string, v: string): string {
  if (/[\r\n]/.test(v)) throw new BulwarkError('input.invalid', `SMTP: the ${what} holds a line break`);
  return v;
}

/** RFC 2047 encoded-word for a non-ASCII subject. */
function encodeHeader(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

/** The message as sent after DATA: headers, a blank line, the dot-stuffed body, CRLF line ends. */
export function formatMessage(m: MailMessage, date: Date, id: string): string {
  const body = m.text
    .replace(/\r?\n/g, '\r\n')
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
    .join('\r\n');
  return [
    `From: <${oneLine('sender', m.from)}>`,
    `To: ${m.to.map((t) => `<${oneLine('recipient', t)}>`).join(', ')}`,
    `Subject: ${encodeHeader(oneLine('subject', m.subject))}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${id}@bulwark.invalid>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
  ].join('\r\n');
}

function open(o: SmtpOptions): Promise<Socket | TLSSocket> {
  return new Promise((resolve, reject) => {
    const s =
      o.tls === 'implicit'
        ? tlsConnect({ host: o.host, port: o.port, servername: o.host, rejectUnauthorized: o.rejectUnauthorized ?? true }, () => {
            resolve(s);
          })
        : netConnect({ host: o.host, port: o.port }, () => {
            resolve(s);
          });
    s.setTimeout(o.timeoutMs ?? 30_000, () => s.destroy(new Error('SMTP: timed out')));
    s.once('error', reject);
  });
}

/**
 * Sends one message; resolves when the server accepted it (250 after the data).
 * @example await sendMail({ host: 'smtp.example', port: 587, tls: 'starttls' }, { from: 'bulwark@example.org', to: ['ops@example.org'], subject: 'hi', text: 'hello' })
 */
export async function sendMail(o: SmtpOptions, m: MailMessage): Promise<void> {
  if (m.to.length === 0) throw new BulwarkError('input.invalid', 'SMTP: no recipient');
  const helo = o.helo ?? 'bulwark.invalid';
  let sock: Socket | TLSSocket;
  try {
    sock = await open(o);
  } catch (err) {
    throw new BulwarkError('target.unreachable', `SMTP: cannot connect to ${o.host}:${String(o.port)}: ${(err as Error).message}`);
  }
  const c = new Conversation(sock);
  try {
    const greeting = await c.reply();
    if (greeting.code !== 220) throw new BulwarkError('target.unreachable', `SMTP: greeting ${String(greeting.code)} ${greeting.text}`);
    let ehlo = await c.command(`EHLO ${helo}`, [250]);
    if (o.tls === 'starttls') {
      if (!/^STARTTLS$/im.test(ehlo.text))
        throw new BulwarkError('target.unreachable', `SMTP: ${o.host} does not offer STARTTLS (set tls: none for a local relay)`);
      await c.command('STARTTLS', [220]);
      const plain = c.detach();
      sock = await new Promise<TLSSocket>((resolve, reject) => {
        const t = tlsConnect({ socket: plain, servername: o.host, rejectUnauthorized: o.rejectUnauthorized ?? true }, () => {
          resolve(t);
        });
        t.once('error', reject);
      });
      c.attach(sock);
      ehlo = await c.command(`EHLO ${helo}`, [250]);
    }
    if (o.user !== undefined) {
      const token = Buffer.from(`\0${o.user}\0${o.password ?? ''}`, 'utf8').toString('base64');
      // The credential never reaches an error message.
      await c.command(`AUTH PLAIN ${token}`, [235], 'AUTH PLAIN ***');
    }
    await c.command(`MAIL FROM:<${oneLine('sender', m.from)}>`, [250]);
    for (const t of m.to) await c.command(`RCPT TO:<${oneLine('recipient', t)}>`, [250, 251]);
    await c.command('DATA', [354]);
    const id = `${String(Date.now())}.${Math.random().toString(36).slice(2)}`;
    await c.command(`${formatMessage(m, new Date(), id)}\r\n.`, [250], 'the message');
    await c.command('QUIT', [221]).catch(() => undefined);
  } finally {
    sock.destroy();
  }
}
