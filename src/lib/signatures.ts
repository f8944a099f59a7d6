import {
  armor,
  createCleartextMessage,
  createMessage,
  enums,
  generateKey,
  readCleartextMessage,
  readKeys,
  readPrivateKey,
  readSignature,
  sign,
  verify,
  type Key,
  type PrivateKey,
  type PublicKey,
} from 'openpgp';

type VerificationResult = Awaited<ReturnType<typeof verify>>['signatures'][number];
import { BulwarkError } from '../core/errors.js';

/**
 * OpenPGP detached signatures (issue #7: `repomd.xml.asc`, and later InRelease): the data must
 * carry a valid signature by one of the keys the operator trusts, else it is refused. Keys and
 * signatures are ASCII-armored; nothing is fetched (no key servers).
 */
export interface TrustedKey {
  armored: string;
  /** For messages: the file the operator gave. */
  origin: string;
}

const ARMOR_BEGIN = '-----BEGIN PGP ';

/** Every key in armored text: one block may hold several, and a file may hold several blocks. */
async function readArmoredKeys(text: string): Promise<Key[]> {
  const blocks = text.split(/^(?=-----BEGIN PGP )/m).filter((b) => b.startsWith(ARMOR_BEGIN));
  if (blocks.length === 0) throw new Error('no armored key block');
  const out: Key[] = [];
  for (const b of blocks) out.push(...(await readKeys({ armoredKeys: b })));
  return out;
}

async function publicKeys(keys: readonly TrustedKey[], what: string): Promise<PublicKey[]> {
  if (keys.length === 0) throw new BulwarkError('input.invalid', `${what}: no trusted key to verify it with`);
  const out: PublicKey[] = [];
  for (const k of keys) {
    try {
      for (const key of await readArmoredKeys(k.armored)) out.push(key.toPublic());
    } catch (err) {
      throw new BulwarkError('config.invalid', `${k.origin}: not an OpenPGP public key (${(err as Error).message})`);
    }
  }
  return out;
}

/**
 * The public keys in a key file an operator trusts, each armored on its own: an armored file
 * (one or several blocks, each with one or several keys) or a binary keyring, as apt's
 * `signed-by` files and /usr/share/keyrings/*.gpg are. A private key's public half is kept,
 * never the secret. Throws naming the file when it holds no key.
 * @example await readTrustedKeys(readFileSync('/usr/share/keyrings/debian-archive-keyring.gpg'), 'debian-archive-keyring.gpg')
 */
export async function readTrustedKeys(bytes: Uint8Array, origin: string): Promise<TrustedKey[]> {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  let keys: Key[];
  try {
    keys = head.includes(ARMOR_BEGIN) ? await readArmoredKeys(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) : await readKeys({ binaryKeys: bytes });
  } catch (err) {
    throw new BulwarkError('config.invalid', `${origin}: not an OpenPGP key file, armored or binary (${(err as Error).message})`, { file: origin });
  }
  if (keys.length === 0) throw new BulwarkError('config.invalid', `${origin}: holds no OpenPGP key`, { file: origin });
  return keys.map((k, i) => ({
    armored: k.toPublic().armor(),
    origin: keys.length === 1 ? origin : `${origin} (key ${String(i + 1)} of ${String(keys.length)}, ${k.getFingerprint().toUpperCase()})`,
  }));
}

/** The fingerprint of the first trusted key with a valid signature among `signatures`; else a refusal naming `what`. */
async function firstValid(
  signatures: readonly VerificationResult[],
  verificationKeys: readonly PublicKey[],
  keys: readonly TrustedKey[],
  what: string,
): Promise<string> {
  for (const s of signatures) {
    try {
      await s.verified;
      const key = verificationKeys.find((k) => k.getKeys(s.keyID).length > 0);
      return key?.getFingerprint() ?? s.keyID.toHex();
    } catch {
      // Not this one: a signature by an untrusted key, or one that does not match the data.
    }
  }
  throw new BulwarkError('input.invalid', `${what}: the signature does not verify with the trusted keys (${keys.map((k) => k.origin).join(', ')})`);
}

/**
 * Returns the fingerprint of the trusted key that made a valid signature over `data`; throws
 * `input.invalid` naming `what` when there is none.
 * @example await verifyDetached(repomd, asc, keys, 'repomd.xml of azl3-base')
 */
export async function verifyDetached(data: Uint8Array, armoredSignature: string, keys: readonly TrustedKey[], what: string): Promise<string> {
  const verificationKeys = await publicKeys(keys, what);
  let signature;
  try {
    signature = await readSignature({ armoredSignature });
  } catch (err) {
    throw new BulwarkError('input.invalid', `${what}: the signature cannot be read (${(err as Error).message})`);
  }
  const result = await verify({ message: await createMessage({ binary: data }), signature, verificationKeys, expectSigned: false });
  return firstValid(result.signatures, verificationKeys, keys, what);
}

/**
 * A clearsigned message (Debian's InRelease): returns the signed text — taken from the verified
 * message, never from around it — and the fingerprint of the trusted key that signed it.
 */
export async function verifyCleartext(armored: string, keys: readonly TrustedKey[], what: string): Promise<{ text: string; signedBy: string }> {
  const verificationKeys = await publicKeys(keys, what);
  let message;
  try {
    message = await readCleartextMessage({ cleartextMessage: armored });
  } catch (err) {
    throw new BulwarkError('input.invalid', `${what}: not a clearsigned message (${(err as Error).message})`);
  }
  const result = await verify({ message, verificationKeys, expectSigned: false });
  return { text: result.data, signedBy: await firstValid(result.signatures, verificationKeys, keys, what) };
}

/**
 * A new signing key (Ed25519, no passphrase: it is kept in a file only its owner reads) for the
 * repositories Bulwark publishes.
 * @example const { privateKey, publicKey } = await generateSigningKey('Bulwark repository signing')
 */
export async function generateSigningKey(name: string): Promise<{ privateKey: string; publicKey: string }> {
  // EdDSA on Ed25519 in the RFC 4880 form (what GnuPG 2.2, librepo's and apt's gpgv verify);
  // RFC 9580's new Ed25519 keys are not understood there yet.
  const k = await generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }], format: 'armored' });
  return { privateKey: k.privateKey, publicKey: k.publicKey };
}

async function privateKey(armored: string, origin: string): Promise<PrivateKey> {
  try {
    const k = await readPrivateKey({ armoredKey: armored });
    if (!k.isDecrypted()) throw new Error('it is protected by a passphrase');
    return k;
  } catch (err) {
    throw new BulwarkError('config.invalid', `${origin}: not a usable OpenPGP private key (${(err as Error).message})`);
  }
}

/** The armored public half of a private key. */
export async function publicKeyOf(armoredPrivate: string, origin: string): Promise<string> {
  return (await privateKey(armoredPrivate, origin)).toPublic().armor();
}

/** The public halves of several keys in one armored block, as one keyring (what dnf's gpgkey and apt's signed-by files take). */
export async function publicKeysArmored(keys: readonly TrustedKey[]): Promise<string> {
  const parts: Uint8Array[] = [];
  let v6 = false;
  for (const k of keys) {
    try {
      for (const key of await readArmoredKeys(k.armored)) {
        parts.push(key.toPublic().write());
        v6 ||= key.keyPacket.version === 6;
      }
    } catch (err) {
      throw new BulwarkError('config.invalid', `${k.origin}: not an OpenPGP key (${(err as Error).message})`);
    }
  }
  // The CRC24 line, as Key.armor() writes it for v4 keys: without it the dnf here (librepo and
  // GnuPG 2.2) did not take the key, and its repo_gpgcheck failed. v6 keys must not have it.
  return armor(enums.armor.publicKey, Buffer.concat(parts), undefined, undefined, undefined, !v6);
}

export interface KeyInfo {
  /** Upper-case hex, as gpg prints it. */
  fingerprint: string;
  created: string;
  userIds: string[];
  /** The armored public key. */
  publicKey: string;
}

/** What a key is: fingerprint, creation time, user ids. */
export async function keyInfo(armoredKey: string, origin: string): Promise<KeyInfo> {
  let key: Key | undefined;
  try {
    key = (await readArmoredKeys(armoredKey))[0];
  } catch (err) {
    throw new BulwarkError('config.invalid', `${origin}: not an OpenPGP key (${(err as Error).message})`);
  }
  if (key === undefined) throw new BulwarkError('config.invalid', `${origin}: holds no OpenPGP key`);
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    created: key.getCreationTime().toISOString(),
    userIds: key.getUserIDs(),
    publicKey: key.toPublic().armor(),
  };
}

/** A detached, armored signature over `data` (repomd.xml.asc, Release.gpg). */
export async function signDetached(armoredPrivate: string, origin: string, data: Uint8Array): Promise<string> {
  const message = await createMessage({ binary: data });
  // openpgp's overloads of sign() do not resolve for a binary message here; the armored result is a string.
  const signature: unknown = await sign({ message, signingKeys: await privateKey(armoredPrivate, origin), detached: true, format: 'armored' });
  if (typeof signature !== 'string') throw new BulwarkError('internal', 'openpgp returned no armored signature');
  return signature;
}

/** A clearsigned text (InRelease). */
export async function signCleartext(armoredPrivate: string, origin: string, text: string): Promise<string> {
  return sign({ message: await createCleartextMessage({ text }), signingKeys: await privateKey(armoredPrivate, origin), format: 'armored' });
}
