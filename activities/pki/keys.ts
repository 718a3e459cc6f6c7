// Key pairs: generation on node's webcrypto (async, off the event loop, so
// several keys generate in parallel on libuv's thread pool), PKCS#8 export,
// and loading a stored CA key, optionally encrypted.
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import type { TlsSpec } from '../../common/spec';
import { pkiError } from './errors';

export type KeyParams = TlsSpec['caKey'];
export type Digest = TlsSpec['digest'];
export type KeyCipher = NonNullable<TlsSpec['caKeyCipher']>;
export type CryptoKey = webcrypto.CryptoKey;

const subtle = webcrypto.subtle;

export const WEBCRYPTO_HASH: Record<Digest, string> = {
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
};

/** Node reports curves by their OpenSSL names. */
const CURVE_BY_OPENSSL_NAME: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

export interface GeneratedKey {
  publicKey: CryptoKey;
  /** Usable for signing (the CA) — RSA keys carry the digest as their hash. */
  privateKey: CryptoKey;
  /** PKCS#8 PEM, unencrypted. */
  pem: string;
}

/**
 * Key generations at once: libuv's thread pool (UV_THREADPOOL_SIZE, default 4) less one. They
 * run on that pool, which also serves file reads: with every thread busy generating RSA keys,
 * the activities running beside them (a host check, the release hash) would wait seconds for a
 * file. Fewer than that would lose CPU share to other processes on a busy machine.
 */
const KEYGEN_SLOTS = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1);
let keygensRunning = 0;
const keygenQueue: (() => void)[] = [];
/** Keys this module generated (on ask or ahead) and handed out from a pool: what the pool's tests read. */
const counts = { generated: 0, pooledHandedOut: 0 };
export const keyCounts = (): Readonly<typeof counts> => ({ ...counts });

async function keygenSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (keygensRunning >= KEYGEN_SLOTS) await new Promise<void>((r) => keygenQueue.push(r));
  else keygensRunning++;
  try {
    counts.generated++;
    return await fn();
  } finally {
    const next = keygenQueue.shift();
    if (next) next();
    else if (--keygensRunning === 0) refillSoon();
  }
}

// Keys made ahead (ETCDFLEET_KEY_POOL per kind of key, in this process's memory only, never
// written anywhere, each handed out once): a provisioning signs certificates instead of waiting
// for RSA key generation. A kind gets a pool once it was asked for. Pools refill one key at a
// time, and only once the worker is quiet: no key asked for during the last `quietMs`, none being
// generated for a caller, and the event loop mostly idle since the last look (so a refill does
// not take CPU from the provisioning that just emptied the pool).
type KeyAlgorithm = webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams;
const MAX_POOLED_KINDS = 8;
/** Event loop utilization above which the worker counts as busy. */
const BUSY_LOOP = 0.3;
const LOOK_MS = 250;
const QUIET_MS = 3_000;
const pool = { size: 0, quietMs: QUIET_MS, busyLoop: BUSY_LOOP };
const pools = new Map<string, { algorithm: KeyAlgorithm; keys: webcrypto.CryptoKeyPair[] }>();
let lastAsked = 0;
let refilling = false;
let refillTimer: NodeJS.Timeout | undefined;
let loopMark = performance.eventLoopUtilization();

/**
 * How many keys of each kind to keep made ahead (0: none; the pools and their kinds are dropped). `quietMs` and
 * `busyLoop` (the event loop utilization that counts as busy) are for tests.
 */
export function configureKeyPool(size: number, opts: { quietMs?: number; busyLoop?: number } = {}): void {
  pool.size = Math.max(0, Math.min(64, Math.floor(size)));
  pool.quietMs = opts.quietMs ?? QUIET_MS;
  pool.busyLoop = opts.busyLoop ?? BUSY_LOOP;
  for (const p of pools.values()) p.keys.splice(pool.size);
  if (pool.size === 0) {
    // No pools at all: a pool set up again later starts with no kind of key from before.
    pools.clear();
    clearTimeout(refillTimer);
    refillTimer = undefined;
  }
  refillSoon();
}

function refillSoon(delayMs = pool.quietMs): void {
  if (refilling || refillTimer || pool.size === 0) return;
  loopMark = performance.eventLoopUtilization();
  // At least LOOK_MS between two looks: the event loop's utilization over a shorter window says little.
  refillTimer = setTimeout(() => void refill(), Math.max(delayMs, LOOK_MS));
  refillTimer.unref();
}

async function refill(): Promise<void> {
  refillTimer = undefined;
  refilling = true;
  let later = false;
  try {
    for (;;) {
      const wanting = [...pools.values()].find((p) => p.keys.length < pool.size);
      if (!wanting) return;
      const loop = performance.eventLoopUtilization(loopMark).utilization;
      loopMark = performance.eventLoopUtilization();
      if (Date.now() - lastAsked < pool.quietMs || keygensRunning > 0 || loop > pool.busyLoop) {
        later = true;
        return;
      }
      const pair = (await keygenSlot(() => subtle.generateKey(wanting.algorithm, true, ['sign', 'verify']))) as webcrypto.CryptoKeyPair;
      if (wanting.keys.length < pool.size) wanting.keys.push(pair);
    }
  } catch {
    // A key that could not be made ahead is made when asked for.
  } finally {
    refilling = false;
    if (later) refillSoon();
  }
}

/** A key made ahead, if the pool of its kind has one (and a pool for it from now on). */
function pooledKey(algorithm: KeyAlgorithm): webcrypto.CryptoKeyPair | undefined {
  if (pool.size === 0) return undefined;
  lastAsked = Date.now();
  const kind = JSON.stringify(algorithm);
  let kept = pools.get(kind);
  if (!kept && pools.size < MAX_POOLED_KINDS) pools.set(kind, (kept = { algorithm, keys: [] }));
  const pair = kept?.keys.shift();
  if (pair) counts.pooledHandedOut++;
  refillSoon();
  return pair;
}

export async function generateKey(params: KeyParams, digest: Digest): Promise<GeneratedKey> {
  const algorithm: KeyAlgorithm =
    params.algorithm === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: params.rsaBits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: WEBCRYPTO_HASH[digest],
        }
      : { name: 'ECDSA', namedCurve: params.curve };
  const pair =
    pooledKey(algorithm) ?? ((await keygenSlot(() => subtle.generateKey(algorithm, true, ['sign', 'verify']))) as webcrypto.CryptoKeyPair);
  const pem = KeyObject.from(pair.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { publicKey: pair.publicKey, privateKey: pair.privateKey, pem };
}

/** Key parameters of a public or private key, in the spec's terms; undefined for other key types. */
export function keyParamsOf(key: KeyObject): { algorithm: 'rsa'; rsaBits: number } | { algorithm: 'ecdsa'; curve: string } | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return { algorithm: 'rsa', rsaBits: d.modulusLength ?? 0 };
  if (key.asymmetricKeyType === 'ec') return { algorithm: 'ecdsa', curve: CURVE_BY_OPENSSL_NAME[d.namedCurve ?? ''] ?? d.namedCurve ?? '' };
  return undefined;
}

export function keyMatchesParams(key: KeyObject, want: KeyParams): boolean {
  const got = keyParamsOf(key);
  if (!got || got.algorithm !== want.algorithm) return false;
  return got.algorithm === 'rsa' ? got.rsaBits === want.rsaBits : got.curve === want.curve;
}

export function describeKey(key: KeyObject): string {
  const p = keyParamsOf(key);
  if (!p) return String(key.asymmetricKeyType);
  return p.algorithm === 'rsa' ? `RSA ${p.rsaBits}` : `ECDSA ${p.curve}`;
}

export function isEncryptedPem(pem: string): boolean {
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
}

/**
 * Parses a stored private key. An encrypted key needs the passphrase; a
 * missing or wrong one is a configuration error, not something a retry fixes.
 */
export function loadPrivateKey(pem: string, passphrase: string | undefined, what: string): KeyObject {
  const encrypted = isEncryptedPem(pem);
  if (encrypted && !passphrase) {
    throw pkiError(`the ${what} private key is encrypted: a CA passphrase is required to use it`);
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch (err) {
    if (encrypted) throw pkiError(`cannot decrypt the ${what} private key: wrong CA passphrase (${(err as Error).message})`);
    throw pkiError(`the ${what} private key is not a readable PEM private key (${(err as Error).message})`);
  }
}

/** Imports a private key for signing certificates with the given digest. */
export async function signingKey(key: KeyObject, digest: Digest, what: string): Promise<CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const p = keyParamsOf(key);
  if (!p) throw pkiError(`the ${what} key is ${key.asymmetricKeyType}; only RSA and ECDSA keys can sign here`);
  const algorithm =
    p.algorithm === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: WEBCRYPTO_HASH[digest] } : { name: 'ECDSA', namedCurve: p.curve };
  return subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

export function toPkcs8Pem(key: KeyObject, cipher?: KeyCipher, passphrase?: string): string {
  if (cipher) {
    if (!passphrase) throw pkiError(`tls.caKeyCipher is ${cipher}: a CA passphrase is required to encrypt the CA key`);
    return key.export({ type: 'pkcs8', format: 'pem', cipher, passphrase }) as string;
  }
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

// --- which cipher protects an encrypted PKCS#8 key ----------------------------

const CIPHER_BY_OID: Record<string, KeyCipher> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
};
const PBES2_OID = '1.2.840.113549.1.5.13';

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at];
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  if (tag === undefined || end > buf.length) throw new Error('truncated DER');
  return { tag, start, end };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function oidOf(buf: Buffer, t: Tlv): string {
  if (t.tag !== 0x06) throw new Error('expected an OID');
  const bytes = buf.subarray(t.start, t.end);
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/**
 * The cipher of a PBES2-encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY"), or
 * undefined when the key is not in that form or uses another cipher.
 */
export function pkcs8Cipher(pem: string): KeyCipher | undefined {
  const m = /-----BEGIN ENCRYPTED PRIVATE KEY-----([\s\S]*?)-----END ENCRYPTED PRIVATE KEY-----/.exec(pem);
  if (!m) return undefined;
  try {
    const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
    const info = readTlv(der, 0); // EncryptedPrivateKeyInfo
    const [algId] = children(der, info);
    const [scheme, params] = children(der, algId);
    if (oidOf(der, scheme) !== PBES2_OID) return undefined;
    const [, encryptionScheme] = children(der, params); // keyDerivationFunc, encryptionScheme
    const [encOid] = children(der, encryptionScheme);
    return CIPHER_BY_OID[oidOf(der, encOid)];
  } catch {
    return undefined;
  }
}
