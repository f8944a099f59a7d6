import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { generateSigningKey, keyInfo, publicKeysArmored, signCleartext, signDetached, type KeyInfo } from '../lib/signatures.js';
import { listViewVersions } from '../storage/index.js';
import { recordAudit, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The key Bulwark signs the repositories it publishes with, and its rotation.
 *
 * One file holds the signing key (armored, unprotected, mode 600). Rotating is two steps, as
 * Debian rotates its archive keys, because a host trusts only the keys it already has:
 * 1. `next`: a second key is made beside the first (`<file>.next.asc`). Nothing is signed with it
 *    yet, but every published key file (repomd.xml.key, bulwark-archive-key.asc) now carries both
 *    public keys, so hosts that fetch it — dnf does on its own when a signature needs a key it
 *    lacks; apt's `signed-by` keyrings are fetched again by the operator — trust both.
 * 2. `rotate`: the next key becomes the signing key; the old one's secret is deleted and its
 *    public half kept as `<file>.retired-<fingerprint>.asc` for the record.
 * Each step signs every signed published version again (its signatures and key files only: the
 * packages and metadata of a version never change), so what is served matches the keys.
 */

/** The key published repositories are signed with. */
export interface SigningKey {
  armored: string;
  /** Where it is, for messages. */
  origin: string;
  /** The public keys published beside the signatures: this key's, then the next key's if one is made. */
  published: string;
}

/** `repo-signing-key.asc` → `repo-signing-key.next.asc`. */
export function nextKeyFile(file: string): string {
  return file.endsWith('.asc') ? `${file.slice(0, -4)}.next.asc` : `${file}.next`;
}

async function createKeyFile(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const k = await generateSigningKey('Bulwark repository signing key');
  await writeFile(file, k.privateKey, { mode: 0o600, flag: 'wx' }).catch((err: unknown) => {
    // Made by another process at the same moment: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  });
}

/**
 * The repository signing key in `file`, made (Ed25519) the first time, with the next key's public
 * half among the published keys when one is made.
 * @example await loadOrCreateSigningKey('/var/lib/bulwark/repo-signing-key.asc')
 */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  if (!existsSync(file)) await createKeyFile(file);
  const armored = await readFile(file, 'utf8');
  const next = nextKeyFile(file);
  const keys = [{ armored, origin: file }, ...(existsSync(next) ? [{ armored: await readFile(next, 'utf8'), origin: next }] : [])];
  return { armored, origin: file, published: await publicKeysArmored(keys) };
}

export interface SigningKeyStatus {
  file: string;
  current: KeyInfo | null;
  next: KeyInfo | null;
  retired: { file: string; key: KeyInfo }[];
}

/** Which keys there are: the signing key, the next one, the retired ones. */
export async function signingKeyStatus(file: string): Promise<SigningKeyStatus> {
  const info = async (f: string): Promise<KeyInfo | null> => (existsSync(f) ? keyInfo(await readFile(f, 'utf8'), f) : null);
  const prefix = `${basename(file).replace(/\.asc$/, '')}.retired-`;
  const retired: { file: string; key: KeyInfo }[] = [];
  const names = existsSync(dirname(file)) ? await readdir(dirname(file)) : [];
  for (const n of names.filter((x) => x.startsWith(prefix)).sort()) {
    const f = join(dirname(file), n);
    retired.push({ file: f, key: await keyInfo(await readFile(f, 'utf8'), f) });
  }
  return { file, current: await info(file), next: await info(nextKeyFile(file)), retired };
}

/**
 * Signs a published version's metadata with `key`: repomd.xml.asc and repomd.xml.key (dnf's
 * repo_gpgcheck), or each suite's InRelease and Release.gpg and bulwark-archive-key.asc (apt's
 * signed-by). Each file is replaced whole, the key file before the signature, so a host reading
 * in between finds the new signature's key already there.
 */
export async function signVersion(dir: string, key: SigningKey): Promise<void> {
  const replace = async (file: string, content: string): Promise<void> => {
    await writeFile(`${file}.tmp`, content);
    await rename(`${file}.tmp`, file);
  };
  const repomd = join(dir, 'repodata', 'repomd.xml');
  if (existsSync(repomd)) {
    await replace(`${repomd}.key`, key.published);
    await replace(`${repomd}.asc`, await signDetached(key.armored, key.origin, await readFile(repomd)));
    return;
  }
  if (!existsSync(join(dir, 'dists'))) throw new BulwarkError('internal', `${dir}: neither an rpm-md nor an apt repository to sign`);
  await replace(join(dir, 'bulwark-archive-key.asc'), key.published);
  for (const suite of await readdir(join(dir, 'dists'))) {
    const release = await readFile(join(dir, 'dists', suite, 'Release'), 'utf8');
    await replace(join(dir, 'dists', suite, 'InRelease'), await signCleartext(key.armored, key.origin, release));
    await replace(join(dir, 'dists', suite, 'Release.gpg'), await signDetached(key.armored, key.origin, Buffer.from(release)));
  }
}

/** Whether a published version was signed (versions published without a key stay unsigned). */
function isSigned(dir: string): boolean {
  return existsSync(join(dir, 'repodata', 'repomd.xml.asc')) || existsSync(join(dir, 'bulwark-archive-key.asc'));
}

async function resignAll(db: Db, key: SigningKey): Promise<number> {
  let n = 0;
  for (const v of await listViewVersions(db))
    if (existsSync(v.dir) && isSigned(v.dir)) {
      await signVersion(v.dir, key);
      n += 1;
    }
  return n;
}

export interface KeyChange {
  status: SigningKeyStatus;
  /** Published versions signed again. */
  resigned: number;
}

/**
 * Step 1 of a rotation: makes the next key (kept if there is one) and publishes its public half
 * beside the signing key's in every signed version.
 */
export async function stageNextSigningKey(db: Db, file: string, o: { actor: Actor; clock?: Clock }): Promise<KeyChange> {
  if (!existsSync(file)) throw new BulwarkError('usage', `${file}: there is no signing key yet (publishing a view makes it)`);
  const next = nextKeyFile(file);
  if (!existsSync(next)) await createKeyFile(next);
  const resigned = await resignAll(db, await loadOrCreateSigningKey(file));
  const status = await signingKeyStatus(file);
  await recordAudit(db, o.actor, 'view.key.next', status.next?.fingerprint ?? '', { signing: status.current?.fingerprint, resigned }, o.clock ?? systemClock);
  return { status, resigned };
}

/**
 * Step 2: the next key signs from now on (made here, at once, when there is none — for a key
 * that must go now; hosts whose keyrings hold only the old key then fail until they fetch the
 * new one). The old key's secret is deleted, its public half kept; every signed version is
 * signed again.
 */
export async function rotateSigningKey(db: Db, file: string, o: { actor: Actor; clock?: Clock }): Promise<KeyChange & { staged: boolean }> {
  if (!existsSync(file)) throw new BulwarkError('usage', `${file}: there is no signing key yet (publishing a view makes it)`);
  const next = nextKeyFile(file);
  const staged = existsSync(next);
  if (!staged) await createKeyFile(next);
  const old = await keyInfo(await readFile(file, 'utf8'), file);
  const retired = join(dirname(file), `${basename(file).replace(/\.asc$/, '')}.retired-${old.fingerprint}.asc`);
  await writeFile(retired, old.publicKey);
  await rename(next, file);
  const resigned = await resignAll(db, await loadOrCreateSigningKey(file));
  const status = await signingKeyStatus(file);
  await recordAudit(db, o.actor, 'view.key.rotate', status.current?.fingerprint ?? '', { retired: old.fingerprint, staged, resigned }, o.clock ?? systemClock);
  return { status, resigned, staged };
}
