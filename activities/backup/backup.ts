// Backups: stream a snapshot into a target with hashes and a manifest, verify
// stored backups with `etcdutl snapshot status`, apply retention.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { BackupEncoder } from './encode';
import { Decrypt, EtcdTrailerCheck, HashCounter, IntegrityError } from './stream';
import type { BackupTarget } from './target';

const run = promisify(execFile);

export interface BackupManifest {
  formatVersion: 1;
  id: string;
  cluster: string;
  member: string;
  revision?: number;
  etcdVersion?: string;
  /** Key of the snapshot object in the target. */
  object: string;
  /** Size of the snapshot as etcd sent it (plaintext, with its trailer). */
  snapshotBytes: number;
  /** Size of the stored object (ciphertext when encrypted). */
  storedBytes: number;
  /** etcd's own trailing SHA-256 of the snapshot (checked while streaming). */
  etcdSha256: string;
  /** SHA-256 of the stored object. */
  sha256: string;
  createdAt: string;
  encryption: { algorithm: 'AES-256-GCM'; keyId: string } | null;
  /** `etcdutl snapshot status` of the stored backup after download (and decryption). */
  verified?: { at: string; revision: number; totalKey: number; hash: number; totalSize: number };
  durationMs?: number;
}

export interface BackupSource {
  /** The snapshot bytes (etcd's Maintenance.Snapshot blobs), with backpressure. */
  stream: Readable;
  member: string;
  etcdVersion?: string;
  revision?: number;
}

export interface EncryptionKey {
  key: Buffer;
  id: string;
}

export function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function backupKeys(prefix: string, cluster: string, id: string, encrypted: boolean) {
  const base = `${prefix}${cluster}/${id}`;
  return { object: `${base}.db${encrypted ? '.enc' : ''}`, manifest: `${base}.json` };
}

export function newBackupId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
  return `${t}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * Streams the snapshot into the target through one BackupEncoder: etcd's
 * trailer checked on the way, optional encryption, SHA-256 of the stored bytes. The manifest is written
 * only after the object is complete; nothing is left behind on failure.
 */
export async function streamBackup(opts: {
  source: BackupSource;
  target: BackupTarget;
  cluster: string;
  prefix: string;
  encryption?: EncryptionKey;
  id?: string;
  now?: Date;
}): Promise<BackupManifest> {
  const started = Date.now();
  const id = opts.id ?? newBackupId(opts.now);
  const keys = backupKeys(opts.prefix, opts.cluster, id, !!opts.encryption);
  const enc = new BackupEncoder({ key: opts.encryption?.key });
  const piped = pipeline(opts.source.stream, enc);
  // Wait for both sides to settle, so a failed upload has cleaned up its partial object before we return.
  const [a, b] = await Promise.allSettled([piped, opts.target.put(keys.object, enc)]);
  const failed = a.status === 'rejected' ? a.reason : b.status === 'rejected' ? b.reason : undefined;
  if (failed) {
    await opts.target.delete(keys.object).catch(() => undefined);
    throw failed;
  }
  return {
    formatVersion: 1,
    id,
    cluster: opts.cluster,
    member: opts.source.member,
    revision: opts.source.revision,
    etcdVersion: opts.source.etcdVersion,
    object: keys.object,
    snapshotBytes: enc.snapshotBytes,
    storedBytes: enc.storedBytes,
    etcdSha256: enc.trailer!,
    sha256: enc.sha256!,
    createdAt: (opts.now ?? new Date()).toISOString(),
    encryption: opts.encryption ? { algorithm: 'AES-256-GCM', keyId: opts.encryption.id } : null,
    durationMs: Date.now() - started,
  };
}

export async function writeManifest(target: BackupTarget, prefix: string, m: BackupManifest): Promise<string> {
  const key = backupKeys(prefix, m.cluster, m.id, false).manifest;
  await target.putText(key, `${JSON.stringify(m, null, 2)}\n`);
  return key;
}

/**
 * Downloads a stored backup to a local file (decrypting it), checking our
 * SHA-256 of the stored bytes and etcd's trailer on the way. The file is
 * removed again if any check fails.
 */
export async function fetchToFile(target: BackupTarget, m: BackupManifest, file: string, key?: Buffer): Promise<void> {
  if (m.encryption && !key) throw new IntegrityError(`backup ${m.id} is encrypted and no backup key is configured`);
  if (m.encryption && key && keyId(key) !== m.encryption.keyId) {
    throw new IntegrityError(`backup ${m.id} was encrypted with key ${m.encryption.keyId}, the configured key is ${keyId(key)}`);
  }
  const stored = new HashCounter();
  const stages: NodeJS.ReadWriteStream[] = [stored];
  if (m.encryption) stages.push(new Decrypt(key!));
  stages.push(new EtcdTrailerCheck());
  try {
    await pipeline(
      await target.get(m.object),
      ...(stages as [NodeJS.ReadWriteStream]),
      fs.createWriteStream(file, { mode: 0o600, highWaterMark: 1 << 20 }),
    );
    if (stored.sha256 !== m.sha256 || stored.bytes !== m.storedBytes) {
      throw new IntegrityError(
        `backup ${m.id}: stored object has sha256 ${stored.sha256} (${stored.bytes} bytes), manifest says ${m.sha256} (${m.storedBytes} bytes)`,
      );
    }
  } catch (e) {
    await fsp.rm(file, { force: true });
    throw e;
  }
}

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** `etcdutl snapshot status -w json`: etcd's own check that the file is a readable snapshot. */
export async function snapshotStatus(etcdutl: string, file: string): Promise<SnapshotStatus> {
  try {
    const { stdout } = await run(etcdutl, ['snapshot', 'status', file, '-w', 'json'], { timeout: 120_000 });
    return JSON.parse(stdout) as SnapshotStatus;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new IntegrityError(`etcdutl snapshot status rejected the backup: ${(err.stderr || err.message).trim().split('\n').slice(-1)[0]}`);
  }
}

/** Runs `fn` with a fresh temp directory that is always removed. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'etcdfleet-backup-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Downloads, decrypts and checks a stored backup with etcdutl; returns the status. */
export async function verifyStored(target: BackupTarget, m: BackupManifest, etcdutl: string, key?: Buffer): Promise<SnapshotStatus> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'snapshot.db');
    await fetchToFile(target, m, file, key);
    return snapshotStatus(etcdutl, file);
  });
}

export async function readManifests(target: BackupTarget, prefix: string, cluster: string): Promise<BackupManifest[]> {
  const keys = (await target.list(`${prefix}${cluster}/`)).filter((k) => k.endsWith('.json'));
  const out: BackupManifest[] = [];
  for (const k of keys) {
    const text = await target.getText(k);
    if (!text) continue;
    try {
      const m = JSON.parse(text) as BackupManifest;
      if (m.formatVersion === 1 && m.verified) out.push(m);
    } catch {
      /* not ours */
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Pure: which backups retention deletes (newest first are kept; the newest one always stays). */
export function retentionPlan(
  manifests: Pick<BackupManifest, 'id' | 'createdAt'>[],
  now: Date,
  rule: { maxAgeMs?: number; keep?: number },
): string[] {
  const sorted = [...manifests].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return sorted
    .filter((m, i) => {
      if (i === 0) return false;
      if (rule.keep !== undefined && i >= rule.keep) return true;
      return rule.maxAgeMs !== undefined && now.getTime() - Date.parse(m.createdAt) > rule.maxAgeMs;
    })
    .map((m) => m.id);
}

export async function deleteBackup(target: BackupTarget, prefix: string, m: BackupManifest): Promise<void> {
  // Manifest first: a half-deleted backup is never listed as restorable.
  await target.delete(backupKeys(prefix, m.cluster, m.id, false).manifest);
  await target.delete(m.object);
}
