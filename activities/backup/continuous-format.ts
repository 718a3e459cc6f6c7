// Continuous backups on the wire: each recorded change is one JSON line; a
// chunk is gzip(JSONL), sealed with the backup key in the same AES-256-GCM
// format as full backups (magic, IV, ciphertext, tag; stream.ts), next to a
// manifest naming its revision and time range and the SHA-256 of the object.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ENC_MAGIC, IntegrityError } from './stream';
import { keyId, type EncryptionKey } from './backup';

/** One recorded change. Leases are not recorded: a restore drops them. */
export interface ChangeEvent {
  /** The revision that made the change (mod_revision; a delete's own revision). */
  r: number;
  /** When the recorder saw it (ms since the epoch). */
  t: number;
  op: 'put' | 'del';
  /** Key and value, base64. */
  k: string;
  v?: string;
}

export interface ChunkManifest {
  formatVersion: 1;
  kind: 'changes';
  cluster: string;
  /** All changes with fromRevision ≤ revision ≤ toRevision are in this chunk (and no other revision). */
  fromRevision: number;
  toRevision: number;
  events: number;
  firstTime: string;
  lastTime: string;
  /** Every change the cluster committed before this time is in this chunk or an earlier one. */
  coveredUntil: string;
  object: string;
  storedBytes: number;
  sha256: string;
  encryption: { algorithm: 'AES-256-GCM'; keyId: string } | null;
  createdAt: string;
}

/** The recorder's tip: everything up to `revision` is recorded, as of `coveredUntil`. */
export interface ChangesHead {
  formatVersion: 1;
  cluster: string;
  revision: number;
  coveredUntil: string;
}

const REV_DIGITS = 20;
const pad = (n: number) => String(n).padStart(REV_DIGITS, '0');

/** Object keys: revisions zero-padded, so a listing sorts by revision. */
export function changeKeys(prefix: string, cluster: string) {
  const dir = `${prefix}${cluster}/changes/`;
  return {
    dir,
    head: `${dir}head.json`,
    chunk: (from: number, to: number, encrypted: boolean) => {
      const base = `${dir}${pad(from)}-${pad(to)}`;
      return { object: `${base}.jsonl.gz${encrypted ? '.enc' : ''}`, manifest: `${base}.json` };
    },
  };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The buffer form of stream.ts's Encrypt (same layout, same AAD): chunks are small. */
export function seal(plain: Buffer, key: Buffer): Buffer {
  const iv = crypto.randomBytes(IV_BYTES);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(ENC_MAGIC);
  return Buffer.concat([ENC_MAGIC, iv, c.update(plain), c.final(), c.getAuthTag()]);
}

export function open(sealed: Buffer, key: Buffer): Buffer {
  const head = ENC_MAGIC.length + IV_BYTES;
  if (sealed.length < head + TAG_BYTES || !sealed.subarray(0, ENC_MAGIC.length).equals(ENC_MAGIC))
    throw new IntegrityError('not an etcdfleet encrypted chunk (bad header or truncated)');
  const d = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(ENC_MAGIC.length, head));
  d.setAAD(ENC_MAGIC);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(sealed.subarray(head, sealed.length - TAG_BYTES)), d.final()]);
  } catch {
    throw new IntegrityError('encrypted chunk failed authentication: wrong key, truncated or altered');
  }
}

/** Encodes events (in revision order, one whole revision never split) into a stored chunk and its manifest. */
export function encodeChunk(input: {
  cluster: string;
  prefix: string;
  fromRevision: number;
  events: ChangeEvent[];
  coveredUntil: Date;
  encryption?: EncryptionKey;
  now?: Date;
}): { body: Buffer; manifest: ChunkManifest } {
  const { events } = input;
  if (!events.length) throw new Error('a chunk needs at least one change');
  const toRevision = events[events.length - 1].r;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.r < input.fromRevision || (i > 0 && e.r < events[i - 1].r))
      throw new Error(`changes out of order: revision ${e.r} in a chunk from ${input.fromRevision}`);
  }
  const plain = zlib.gzipSync(Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join('')));
  const body = input.encryption ? seal(plain, input.encryption.key) : plain;
  const keys = changeKeys(input.prefix, input.cluster).chunk(input.fromRevision, toRevision, !!input.encryption);
  return {
    body,
    manifest: {
      formatVersion: 1,
      kind: 'changes',
      cluster: input.cluster,
      fromRevision: input.fromRevision,
      toRevision,
      events: events.length,
      firstTime: new Date(events[0].t).toISOString(),
      lastTime: new Date(events[events.length - 1].t).toISOString(),
      coveredUntil: input.coveredUntil.toISOString(),
      object: keys.object,
      storedBytes: body.length,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
      encryption: input.encryption ? { algorithm: 'AES-256-GCM', keyId: input.encryption.id } : null,
      createdAt: (input.now ?? new Date()).toISOString(),
    },
  };
}

/** Checks the stored bytes against the manifest and decrypts: the gzip bytes. Any mismatch is an IntegrityError. */
function openChunk(body: Buffer, m: ChunkManifest, key?: Buffer): Buffer {
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  if (sha !== m.sha256 || body.length !== m.storedBytes)
    throw new IntegrityError(
      `change chunk ${m.object}: stored sha256 ${sha} (${body.length} bytes), manifest says ${m.sha256} (${m.storedBytes} bytes)`,
    );
  if (m.encryption && !key) throw new IntegrityError(`change chunk ${m.object} is encrypted and no backup key is configured`);
  if (m.encryption && key && keyId(key) !== m.encryption.keyId)
    throw new IntegrityError(`change chunk ${m.object} was encrypted with key ${m.encryption.keyId}, the configured key is ${keyId(key)}`);
  return m.encryption ? open(body, key!) : body;
}

function parseEvents(plain: Buffer, m: ChunkManifest): ChangeEvent[] {
  const events = plain
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ChangeEvent);
  if (events.length !== m.events) throw new IntegrityError(`change chunk ${m.object}: ${events.length} changes, manifest says ${m.events}`);
  return events;
}

/** Checks the stored bytes against the manifest, decrypts and parses; any mismatch is an IntegrityError. */
export function decodeChunk(body: Buffer, m: ChunkManifest, key?: Buffer): ChangeEvent[] {
  return parseEvents(zlib.gunzipSync(openChunk(body, m, key)), m);
}

const gunzip = promisify(zlib.gunzip);

/** decodeChunk with the decompression on libuv's thread pool (the replay decodes ahead of its writes). */
export async function decodeChunkAsync(body: Buffer, m: ChunkManifest, key?: Buffer): Promise<ChangeEvent[]> {
  return parseEvents(await gunzip(openChunk(body, m, key)), m);
}

/** Parses a stored chunk manifest or head; undefined for anything else. */
export function parseChunkManifest(text: string | undefined): ChunkManifest | undefined {
  if (!text) return undefined;
  try {
    const m = JSON.parse(text) as ChunkManifest;
    return m.formatVersion === 1 && m.kind === 'changes' ? m : undefined;
  } catch {
    return undefined;
  }
}
