import { createHash, createHmac } from 'node:crypto';
import { open } from 'node:fs/promises';
import { globPattern } from '../core/glob.js';

/**
 * OpenSSH known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `patterns keytype base64 [comment]`,
 * patterns comma-separated, `[host]:port` for a port other than 22, hashed entries
 * `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`, markers `@revoked` and `@cert-authority`.
 * ssh2 accepts any host key unless told otherwise, so Bulwark checks every key against this
 * file itself: a known host with another key is refused, a new host only with consent.
 */
export interface KnownHostEntry {
  marker: '@revoked' | '@cert-authority' | null;
  patterns: string[];
  keyType: string;
  /** The key blob, base64 (as ssh2 hands the server's key to a host verifier, encoded). */
  key: string;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (f[0] === '@revoked' || f[0] === '@cert-authority') marker = f.shift() as '@revoked' | '@cert-authority';
    const [patterns, keyType, key] = f;
    if (patterns === undefined || keyType === undefined || key === undefined) continue;
    out.push({ marker, patterns: patterns.split(','), keyType, key });
  }
  return out;
}

/** The name a host is recorded under: `host`, or `[host]:port` when the port is not 22. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${String(port)}`;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (salt === undefined || hash === undefined) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  if (pattern.startsWith('!')) return false;
  // Wildcards * and ? as ssh does; everything else literal.
  const re = globPattern(pattern);
  return re.test(name);
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; message: string };

/** `SHA256:…` as ssh-keygen -l prints it. */
export function fingerprint(keyBase64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Checks a server's key for `name` (see hostKeyName) against known_hosts entries.
 * @example verifyHostKey(parseKnownHosts(text), '[127.0.0.2]:2222', key.toString('base64'))
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], name: string, keyBase64: string): HostKeyVerdict {
  const mine = entries.filter(
    (e) => e.patterns.some((p) => patternMatches(p, name)) && !e.patterns.some((p) => p.startsWith('!') && patternMatches(p.slice(1), name)),
  );
  if (mine.some((e) => e.marker === '@revoked' && e.key === keyBase64))
    return { ok: false, reason: 'revoked', message: `the host key of ${name} (${fingerprint(keyBase64)}) is marked @revoked in known_hosts` };
  const plain = mine.filter((e) => e.marker === null);
  if (plain.some((e) => e.key === keyBase64)) return { ok: true };
  if (plain.length > 0)
    return {
      ok: false,
      reason: 'changed',
      message: `the host key of ${name} has CHANGED (now ${fingerprint(keyBase64)}); someone may be intercepting the connection, or the host was reinstalled. Remove its line from known_hosts only once you have checked the new key.`,
    };
  return {
    ok: false,
    reason: 'unknown',
    message: `${name} is not in known_hosts (its key is ${fingerprint(keyBase64)}); check that fingerprint and pass --accept-new-host-key to trust it`,
  };
}

/** The known_hosts line that records a newly accepted key. */
export function knownHostsLine(name: string, keyBase64: string): string {
  const type = Buffer.from(keyBase64, 'base64');
  const len = type.readUInt32BE(0);
  return `${name} ${type.subarray(4, 4 + len).toString('latin1')} ${keyBase64}\n`;
}

/**
 * Appends the line recording a newly accepted key to a known_hosts file, starting a new line
 * first when the file does not end with one (edited by hand, or written by a tool that leaves
 * no final newline): glued to the last line, the new entry would be part of that host's key
 * field, so the new host stayed unknown and the last host's key read as changed.
 * @example await appendKnownHost('/root/.ssh/known_hosts', '[10.0.0.5]:2222', key)
 */
export async function appendKnownHost(file: string, name: string, keyBase64: string): Promise<void> {
  const f = await open(file, 'a+', 0o600);
  try {
    const { size } = await f.stat();
    let glue = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await f.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) glue = '\n';
    }
    // One write (O_APPEND): a line is never split by another process appending at the same time.
    await f.write(glue + knownHostsLine(name, keyBase64));
  } finally {
    await f.close();
  }
}
