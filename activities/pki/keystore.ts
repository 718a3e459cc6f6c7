// The worker-side key store: private keys never enter Temporal payloads.
// Workflows carry key ids (references); activities read the keys here.
//
// Key ids are deterministic: `<cluster>/<purpose>/<sha256 of the public key>`
// (purpose e.g. `ca`, `admin`, `member/<name>/server`), so storing the same
// key twice is a no-op and one cluster's keys share a prefix.
//
// FileKeyStore: one file per key under `<dir>/<id>.key` (directories 0700,
// files 0600), each AES-256-GCM encrypted with the store key and the key id
// as associated data, so a file copied under another id, a flipped bit or the
// wrong store key is detected instead of silently used. A KMS or Vault backend
// implements the same interface.
import crypto, { createPublicKey, type KeyObject } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { keyStoreDir, keyStoreKey, type Config } from '../../infra/config';
import { pkiError } from './errors';

export interface KeyStore {
  /** Stores a PEM private key; the same id and content again changes nothing. */
  put(id: string, pem: string): Promise<void>;
  /** The PEM stored under id, or undefined when there is none. Throws when it cannot be decrypted. */
  get(id: string): Promise<string | undefined>;
  /** Removes one key; false when it did not exist. */
  delete(id: string): Promise<boolean>;
  /** Ids under a prefix (`<cluster>/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every key under a prefix (a purged cluster); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkId(id: string): string[] {
  const parts = id.split('/');
  if (parts.length < 2 || !parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..' && !p.endsWith('.key'))) {
    throw pkiError(`invalid key id ${JSON.stringify(id)}`);
  }
  return parts;
}

/** sha256 (hex) of the SubjectPublicKeyInfo DER of a key, certificate public key or private key. */
export function publicKeyHash(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return crypto
    .createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** `<cluster>/<purpose>/<sha256 of the public key>`. */
export function keyIdFor(cluster: string, purpose: string, key: KeyObject): string {
  const id = `${cluster}/${purpose}/${publicKeyHash(key)}`;
  checkId(id);
  return id;
}

const MAGIC = Buffer.from('efks1\n');
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class FileKeyStore implements KeyStore {
  private readonly key: Buffer;

  constructor(
    readonly dir: string,
    key: Buffer,
  ) {
    if (key.length !== 32) throw new Error(`the key store key must be 32 bytes (AES-256), got ${key.length}`);
    this.key = key;
  }

  private file(id: string): string {
    return path.join(this.dir, ...checkId(id)) + '.key';
  }

  private seal(id: string, pem: string): Buffer {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  }

  private open(id: string, data: Buffer): string {
    const head = MAGIC.length + IV_BYTES + TAG_BYTES;
    if (data.length < head || !data.subarray(0, MAGIC.length).equals(MAGIC))
      throw pkiError(`key store entry ${id} is not a key store file`);
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, data.subarray(MAGIC.length, MAGIC.length + IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(MAGIC.length + IV_BYTES, head));
      return Buffer.concat([decipher.update(data.subarray(head)), decipher.final()]).toString('utf8');
    } catch {
      throw pkiError(`key store entry ${id} cannot be decrypted: tampered with, or the key store key changed`);
    }
  }

  async put(id: string, pem: string): Promise<void> {
    const file = this.file(id);
    if ((await this.get(id).catch(() => undefined)) === pem) return;
    await this.mkdirs(path.dirname(file));
    // Write aside and rename: a crash never leaves a half-written key under its id.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, this.seal(id, pem), { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, file);
  }

  async get(id: string): Promise<string | undefined> {
    const data = await fsp.readFile(this.file(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return data && this.open(id, data);
  }

  async delete(id: string): Promise<boolean> {
    const file = this.file(id);
    const existed = await fsp.stat(file).then(
      () => true,
      () => false,
    );
    await fsp.rm(file, { force: true });
    return existed;
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string[]) => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isDirectory()) await walk(path.join(dir, e.name), [...rel, e.name]);
        else if (e.name.endsWith('.key')) out.push([...rel, e.name.slice(0, -'.key'.length)].join('/'));
      }
    };
    await walk(this.dir, []);
    return out.filter((id) => id.startsWith(prefix)).sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const ids = await this.list(prefix);
    for (const id of ids) await this.delete(id);
    // A whole cluster: its directory goes too.
    if (prefix.endsWith('/') && SEGMENT.test(prefix.slice(0, -1))) {
      await fsp.rm(path.join(this.dir, prefix.slice(0, -1)), { recursive: true, force: true });
    }
    return ids.length;
  }

  private async mkdirs(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; the store's directories are the owner's alone.
    for (let d = dir; d.startsWith(this.dir); d = path.dirname(d)) {
      await fsp.chmod(d, 0o700);
      if (d === this.dir) break;
    }
  }
}

/** The worker's key store as configured: `<stateDir>/keys`, key from ETCDFLEET_KEYSTORE_KEY or the state dir. */
export function keyStoreFor(cfg: Pick<Config, 'stateDir'>, env = process.env): FileKeyStore {
  return new FileKeyStore(keyStoreDir(cfg, env), keyStoreKey(cfg, env));
}
