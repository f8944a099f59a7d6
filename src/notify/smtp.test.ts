import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { expect } from 'vitest';
import { requires, tool } from '../../test/needs.js';
import { sendMail } from './smtp.js';

/**
 * The SMTP client's STARTTLS path against a small server written here (plain until STARTTLS,
 * then TLS with a certificate made by openssl): the message arrives over TLS, AUTH PLAIN only
 * after the upgrade, and a certificate the client does not trust is refused.
 */
requires(tool('openssl', { probe: ['version'] })).it(
  'sends over STARTTLS and refuses an untrusted certificate',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-comply-smtp-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      const key = readFileSync(join(dir, 'k.pem'));
      const cert = readFileSync(join(dir, 'c.pem'));
      const got: { tls: boolean; lines: string[] }[] = [];
      const server = createServer((plain: Socket) => {
        const session = { tls: false, lines: [] as string[] };
        got.push(session);
        const speak = (sock: Socket | TLSSocket): void => {
          let buf = '';
          let data = false;
          sock.on('data', (d: Buffer) => {
            buf += d.toString('utf8');
            let i: number;
            while ((i = buf.indexOf('\r\n')) !== -1) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 2);
              session.lines.push(`${session.tls ? 'tls' : 'plain'}: ${line}`);
              if (data) {
                if (line === '.') {
                  data = false;
                  sock.write('250 ok\r\n');
                }
              } else if (line.startsWith('EHLO')) sock.write(session.tls ? '250-x\r\n250 AUTH PLAIN\r\n' : '250-x\r\n250 STARTTLS\r\n');
              else if (line === 'STARTTLS') {
                sock.write('220 go ahead\r\n');
                sock.removeAllListeners('data');
                const t = new TLSSocket(sock, { isServer: true, key, cert });
                session.tls = true;
                speak(t);
                return;
              } else if (line.startsWith('AUTH PLAIN') && session.tls) sock.write('235 ok\r\n');
              else if (line.startsWith('MAIL') || line.startsWith('RCPT')) sock.write('250 ok\r\n');
              else if (line === 'DATA') {
                data = true;
                sock.write('354 go\r\n');
              } else if (line === 'QUIT') sock.end('221 bye\r\n');
              else sock.write('502 no\r\n');
            }
          });
          sock.on('error', () => undefined);
        };
        plain.write('220 test\r\n');
        speak(plain);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      try {
        // A self-signed certificate is refused by default; with rejectUnauthorized: false (a local relay) it is taken.
        const o = { host: 'localhost', port, tls: 'starttls' as const, user: 'u', password: 'p' };
        await expect(sendMail(o, { from: 'a@example.org', to: ['b@example.org'], subject: 's', text: 'hello' })).rejects.toThrow(/self-signed|certificate/);
        await sendMail({ ...o, rejectUnauthorized: false }, { from: 'a@example.org', to: ['b@example.org'], subject: 's', text: 'hello' });
        const last = got.at(-1);
        expect(last?.lines).toContain('plain: STARTTLS');
        expect(last?.lines.filter((l) => l.startsWith('plain: AUTH') || l.startsWith('plain: MAIL'))).toEqual([]);
        expect(last?.lines).toContain('tls: AUTH PLAIN AHUAcA==');
        expect(last?.lines).toContain('tls: hello');
      } finally {
        await new Promise<void>((r) => {
          server.close(() => {
            r();
          });
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  60_000,
);
