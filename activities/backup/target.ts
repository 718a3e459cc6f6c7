// Where backups live: a directory (embedded default) or an S3 bucket. Both
// take and give streams; an object only becomes visible once fully written
// (directory: rename of a temp file; S3: multipart upload completion).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApplicationFailure } from '@temporalio/common';
import { DurableFileWriter, syncDir } from './file-sink';
import type { ClusterSpec } from '../../common/spec';

/** How much a directory target reads at a time (restores, drills, verification). */
const READ_CHUNK_BYTES = 1 << 20;

export type BackupSettings = NonNullable<ClusterSpec['backup']>;

export interface BackupTarget {
  /** Human-readable location, e.g. `s3://bucket/prefix/` or a directory. */
  readonly describe: string;
  /** Streams `body` into `key`; returns once the object is complete and visible. */
  put(key: string, body: Readable): Promise<void>;
  get(key: string): Promise<Readable>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string | undefined>;
  /** Keys under `prefix`. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/**
 * Multipart upload (lib-storage's Upload): part size and parts uploading at
 * once. Each part in flight and the one being filled are held in memory, so
 * the memory of a backup to S3 is about (queue + 1) × part size plus the
 * encoder's 1 MiB buffer: 5 × 5 MiB + 1 MiB = 26 MiB with the defaults (the
 * garbage of each part's copy comes on top until it is collected). Four parts
 * in flight keep the server busy; 5 MiB is S3's smallest part.
 */
export const S3_PART_BYTES = Number(process.env.ETCDFLEET_S3_PART_BYTES ?? 5 * 1024 * 1024);
export const S3_QUEUE_SIZE = Number(process.env.ETCDFLEET_S3_QUEUE ?? 4);

export function openTarget(settings: BackupSettings | undefined, defaultDir: string, env = process.env): BackupTarget {
  if (settings?.s3) return new S3Target(settings.s3, env);
  return new DirTarget(settings?.dir ?? defaultDir);
}

export class DirTarget implements BackupTarget {
  readonly describe: string;
  constructor(private readonly root: string) {
    this.describe = path.resolve(root);
  }
  private file(key: string): string {
    const p = path.resolve(this.root, key);
    if (!p.startsWith(`${path.resolve(this.root)}/`)) throw ApplicationFailure.nonRetryable(`bad backup key ${key}`, 'InvalidKey');
    return p;
  }
  async put(key: string, body: Readable): Promise<void> {
    const file = this.file(key);
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.partial-${process.pid}`;
    try {
      // Large vectored writes; fsync before the rename (and of the directory
      // after it), as `etcdctl snapshot save` does, so a listed backup is on disk.
      await pipeline(body, new DurableFileWriter(tmp));
      await fsp.rename(tmp, file);
      await syncDir(path.dirname(file));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }
  async get(key: string): Promise<Readable> {
    // 1 MiB reads: a 1 GiB snapshot through hash, decryption and etcd's trailer check took ~35 % longer in 64 KiB pieces.
    return fs.createReadStream(this.file(key), { highWaterMark: READ_CHUNK_BYTES });
  }
  async putText(key: string, text: string): Promise<void> {
    await this.put(key, Readable.from([Buffer.from(text)]));
  }
  async getText(key: string): Promise<string | undefined> {
    return fsp.readFile(this.file(key), 'utf8').catch(() => undefined);
  }
  async list(prefix: string): Promise<string[]> {
    const dir = this.file(prefix.endsWith('/') ? `${prefix}x` : prefix);
    const base = path.dirname(dir);
    const names = await fsp.readdir(base).catch(() => [] as string[]);
    const rel = path.relative(path.resolve(this.root), base);
    return names
      .filter((n) => !n.includes('.partial-'))
      .map((n) => (rel ? `${rel}/${n}` : n))
      .filter((k) => k.startsWith(prefix));
  }
  async delete(key: string): Promise<void> {
    await fsp.rm(this.file(key), { force: true });
  }
}

export class S3Target implements BackupTarget {
  readonly describe: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  constructor(s3: NonNullable<BackupSettings['s3']>, env = process.env) {
    const accessKeyId = env[s3.accessKeyIdEnv];
    const secretAccessKey = env[s3.secretAccessKeyEnv];
    this.client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      // Without both variables the SDK's default chain (profiles, instance roles) applies.
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      // Our own SHA-256 covers integrity end to end; the SDK's default CRC32 of
      // every part (computed in JS) would halve throughput.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.bucket = s3.bucket;
    this.describe = `s3://${s3.bucket}/`;
  }
  async put(key: string, body: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body },
      partSize: S3_PART_BYTES,
      queueSize: S3_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    // A failing source stream must abort the multipart upload, never complete a short object.
    let failure: unknown;
    body.once('error', (e) => {
      failure = e;
      void upload.abort().catch(() => undefined);
    });
    try {
      await upload.done();
    } catch (e) {
      throw failure ?? e;
    }
    if (failure) {
      await this.delete(key).catch(() => undefined);
      throw failure;
    }
  }
  async get(key: string): Promise<Readable> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return r.Body as Readable;
  }
  async putText(key: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: 'application/json' }));
  }
  async getText(key: string): Promise<string | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await r.Body!.transformToString();
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const c of r.Contents ?? []) if (c.Key) keys.push(c.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
